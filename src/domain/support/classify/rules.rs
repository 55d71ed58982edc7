//! The keyword baseline the learned model is measured against: what a support team writes on
//! day one. The first rule with a keyword in the (lower-cased) message wins; the order puts the
//! more specific complaints first ("refund" beats "order", "invalid" beats "code").

use crate::domain::support::intent::Intent;

const RULES: [(Intent, &[&str]); 5] = [
    (
        Intent::CodeInvalid,
        &[
            "invalid",
            "already",
            "redeemed",
            "used",
            "not work",
            "doesn't work",
            "doesnt work",
            "expired",
            "wrong",
            "rejected",
            "无效",
            "已使用",
            "已被",
            "已兑换",
            "用不了",
            "错误",
            "过期",
            "失效",
        ],
    ),
    (
        Intent::RefundRequest,
        &[
            "refund",
            "money back",
            "cancel",
            "退款",
            "退钱",
            "取消",
            "退回",
        ],
    ),
    (
        Intent::CodeNotReceived,
        &[
            "not received",
            "never got",
            "didn't get",
            "didnt get",
            "no code",
            "resend",
            "haven't received",
            "not delivered",
            "没收到",
            "没到",
            "未收到",
            "补发",
            "没发",
            "重发",
        ],
    ),
    (
        Intent::HowToRedeem,
        &[
            "how",
            "where do i",
            "redeem",
            "activate",
            "怎么",
            "如何",
            "在哪",
            "教程",
            "兑换",
        ],
    ),
    (
        Intent::OrderStatus,
        &[
            "status",
            "order",
            "processing",
            "状态",
            "订单",
            "进度",
            "处理",
        ],
    ),
];

/// The first matching rule's intent, else `other`.
pub fn classify(text: &str) -> Intent {
    let lower = text.to_lowercase();
    RULES
        .iter()
        .find(|(_, words)| words.iter().any(|w| lower.contains(w)))
        .map_or(Intent::Other, |(intent, _)| *intent)
}
