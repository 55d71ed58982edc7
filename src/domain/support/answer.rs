//! The answer text: one builder per intent, each reading the order's facts and what the actions
//! did, written in English and Chinese side by side so neither language drifts from the other.

use super::actions::{ActionKind, SupportAction};
use super::facts::OrderFacts;
use super::intent::{Intent, Lang};
use crate::domain::states::Delivery;
use crate::domain::trade::orders::OrderStatus;

/// `format!` of the English or the Chinese text.
macro_rules! say {
    ($lang:expr, $en:literal, $zh:literal $(,)?) => {
        match $lang {
            Lang::En => format!($en),
            Lang::Zh => format!($zh),
        }
    };
}

/// The answer to a message of `intent`, from the order's facts (when an order was named) and
/// the actions taken or refused.
pub fn compose(
    intent: Intent,
    lang: Lang,
    facts: Option<&OrderFacts>,
    actions: &[SupportAction],
) -> String {
    let Some(f) = facts else {
        return without_order(intent, lang);
    };
    let mut parts = vec![summary(f, lang)];
    parts.extend(match intent {
        Intent::CodeNotReceived => not_received(f, lang, actions),
        Intent::CodeInvalid => invalid(f, lang, actions),
        Intent::HowToRedeem => vec![how_to_redeem(f, lang)],
        Intent::OrderStatus => status_detail(f, lang),
        Intent::RefundRequest => refund(f, lang),
        Intent::Other => vec![offer(lang)],
    });
    let sep = lang.pick(" ", "");
    parts.retain(|p| !p.is_empty());
    parts.join(sep)
}

/// Answers when no order was named: the general rule, then a request for the order number.
fn without_order(intent: Intent, lang: Lang) -> String {
    let ask = say!(
        lang,
        "Please send your order number so I can check it.",
        "请提供订单号，我帮您查询。"
    );
    let lead = match intent {
        Intent::CodeNotReceived => say!(
            lang,
            "Sorry your code hasn't arrived. Codes are delivered the moment an order is paid.",
            "抱歉您还没收到卡密。订单付款后卡密会立即发放。"
        ),
        Intent::CodeInvalid => say!(
            lang,
            "Sorry the code doesn't work. Please check you are redeeming it on the right platform and region, typed exactly as shown; if it still fails, send your order number and the code, and we'll raise it with the supplier.",
            "抱歉卡密无法使用。请确认兑换平台和地区正确，并按原样输入；如仍失败，请提供订单号和卡密，我们会向供货方核实。"
        ),
        Intent::HowToRedeem => say!(
            lang,
            "Open the redeem page of the platform the card is for and enter the code exactly as shown. Send your order number for this product's own steps.",
            "请打开该卡所属平台的兑换页面，按原样输入卡密。提供订单号可获取该商品的具体兑换步骤。"
        ),
        Intent::OrderStatus => String::new(),
        Intent::RefundRequest => say!(
            lang,
            "A delivered code can't be returned once it has been shown, but a code that doesn't work is replaced or refunded through after-sales, and a failed top-up is refunded automatically.",
            "卡密一经发放展示即无法退回；但无法使用的卡密可通过售后换卡或退款，直充失败会自动退款。"
        ),
        Intent::Other => return offer(lang),
    };
    if lead.is_empty() {
        ask
    } else {
        format!("{lead}{}{ask}", lang.pick(" ", ""))
    }
}

/// What the assistant can help with (the answer to `other`).
fn offer(lang: Lang) -> String {
    say!(
        lang,
        "I can help with codes that haven't arrived, codes that don't work, how to redeem, order status and refunds. Please tell me a little more, with your order number if you have one.",
        "我可以帮您处理：未收到卡密、卡密无法使用、兑换方法、订单状态和退款。请再具体描述一下，如有订单号请一并提供。"
    )
}

/// "Order X (product × n) is delivered, on T."
fn summary(f: &OrderFacts, lang: Lang) -> String {
    let (id, product, n) = (&f.order_id, &f.product_name, f.quantity);
    let state = status_text(f.status, lang);
    match f.delivered_at {
        Some(at) if f.delivered() => {
            let at = when(at);
            say!(
                lang,
                "Order {id} ({product} × {n}) is {state}, on {at}.",
                "订单 {id}（{product} × {n}）{state}，时间 {at}。"
            )
        }
        _ => say!(
            lang,
            "Order {id} ({product} × {n}) is {state}.",
            "订单 {id}（{product} × {n}）{state}。"
        ),
    }
}

fn status_text(status: OrderStatus, lang: Lang) -> &'static str {
    match status {
        OrderStatus::Delivered => lang.pick("delivered", "已发货"),
        OrderStatus::Processing => lang.pick("still processing", "正在处理中"),
        OrderStatus::Completed => lang.pick("completed", "已完成"),
        OrderStatus::Failed => lang.pick("failed", "失败"),
        OrderStatus::Refunded => lang.pick("refunded", "已退款"),
    }
}

/// Minutes are enough for a customer; the API's own times stay RFC 3339.
fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn money(minor: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", minor / 100, minor % 100)
}

/// What happens to an order that has no codes to speak of (yet, or any more).
fn undelivered(f: &OrderFacts, lang: Lang) -> String {
    let since = when(f.created_at);
    match f.status {
        OrderStatus::Processing => say!(
            lang,
            "It has been processing since {since}; it usually finishes within minutes, and you will be told as soon as it does.",
            "自 {since} 起处理中，通常几分钟内完成，完成后会立即通知您。"
        ),
        OrderStatus::Failed => say!(
            lang,
            "The top-up did not go through and the payment was returned in full.",
            "直充未成功，款项已全额退回。"
        ),
        OrderStatus::Refunded => say!(
            lang,
            "It was refunded: the payment was returned.",
            "该订单已退款，款项已退回。"
        ),
        OrderStatus::Delivered | OrderStatus::Completed => String::new(),
    }
}

fn not_received(f: &OrderFacts, lang: Lang, actions: &[SupportAction]) -> Vec<String> {
    if !f.delivered() {
        return vec![undelivered(f, lang)];
    }
    let mut out = vec![match f.delivery {
        Delivery::Card => say!(
            lang,
            "The codes are in your order in the shop.",
            "卡密可在商城的订单详情中查看。"
        ),
        Delivery::Direct => say!(
            lang,
            "The top-up was credited to the account you gave; it can take a few minutes to show in the game.",
            "已充值到您提供的账户，游戏内显示可能有几分钟延迟。"
        ),
    }];
    out.push(claim_note(f, lang));
    if let Some(a) = find(actions, ActionKind::ResendCallback) {
        out.push(match (a.taken, a.reason.as_deref()) {
            (true, _) => say!(
                lang,
                "I have sent the delivery to the shop again, so it should reach you shortly.",
                "已重新向商城推送发货信息，稍后即可收到。"
            ),
            (false, Some("already_queued")) => say!(
                lang,
                "The delivery is on its way to the shop right now.",
                "发货信息正在推送给商城。"
            ),
            _ => say!(
                lang,
                "If you still can't see them, please contact the shop with your order number.",
                "如仍看不到，请携订单号联系商城客服。"
            ),
        });
    }
    out
}

/// The gift link's state, once gift links fill `OrderFacts::claim`.
fn claim_note(f: &OrderFacts, lang: Lang) -> String {
    match &f.claim {
        None => String::new(),
        Some(c) if c.claimed => {
            let at = c.claimed_at.map(when).unwrap_or_default();
            say!(
                lang,
                "Its gift link was already claimed ({at}).",
                "该礼品链接已被领取（{at}）。"
            )
        }
        Some(_) => say!(
            lang,
            "Its gift link has not been claimed yet.",
            "该礼品链接尚未被领取。"
        ),
    }
}

fn invalid(f: &OrderFacts, lang: Lang, actions: &[SupportAction]) -> Vec<String> {
    if !f.delivered() {
        return vec![undelivered(f, lang)];
    }
    let Some(a) = find(actions, ActionKind::OpenTicket) else {
        return Vec::new();
    };
    let ticket = a.ticket_id.clone().unwrap_or_default();
    let said = match (a.taken, a.reason.as_deref()) {
        (true, _) => say!(
            lang,
            "Sorry about that. I have opened after-sales ticket {ticket}: the supplier checks the code and replaces or refunds it, automatically refunded if they don't answer in time.",
            "抱歉给您带来不便。已为您提交售后工单 {ticket}：供货方会核实卡密并换卡或退款，超时未处理将自动退款。"
        ),
        (false, Some("ticket_exists")) => {
            let state = f
                .tickets
                .iter()
                .find(|t| t.id == ticket)
                .map_or("open", |t| t.status.as_str());
            say!(
                lang,
                "After-sales ticket {ticket} is already on this order (status: {state}); you will be told how it ends.",
                "该订单已有售后工单 {ticket}（状态：{state}），处理结果会通知您。"
            )
        }
        (false, Some("outside_window")) => say!(
            lang,
            "This order is older than the after-sales period; please contact the shop with your order number and the code.",
            "该订单已超过售后期限，请携订单号和卡密联系商城客服。"
        ),
        _ => say!(
            lang,
            "Please check you are redeeming on the right platform and region. If it still fails, contact the shop with your order number and the code; they will open an after-sales case with the supplier.",
            "请确认兑换平台和地区正确。如仍失败，请携订单号和卡密联系商城客服，由商城向供货方发起售后。"
        ),
    };
    vec![said]
}

fn how_to_redeem(f: &OrderFacts, lang: Lang) -> String {
    let product = &f.product_name;
    let steps = f.instructions.trim();
    match f.delivery {
        Delivery::Direct => say!(
            lang,
            "{product} is a direct top-up: there is no code to redeem, it is credited to the account you gave.",
            "{product} 为直充商品：无需兑换，直接充值到您提供的账户。"
        ),
        Delivery::Card if !steps.is_empty() => say!(
            lang,
            "How to redeem {product}: {steps}",
            "{product} 兑换方法：{steps}"
        ),
        Delivery::Card => say!(
            lang,
            "Open the redeem page of the platform {product} is for and enter the code exactly as shown.",
            "请打开 {product} 所属平台的兑换页面，按原样输入卡密。"
        ),
    }
}

fn status_detail(f: &OrderFacts, lang: Lang) -> Vec<String> {
    let mut out = vec![undelivered(f, lang), claim_note(f, lang)];
    if let Some(t) = f.tickets.first() {
        let (id, state) = (&t.id, t.status.as_str());
        let outcome = t.resolution.as_deref().unwrap_or("-");
        out.push(say!(
            lang,
            "After-sales ticket {id}: {state} (outcome: {outcome}).",
            "售后工单 {id}：{state}（结果：{outcome}）。"
        ));
    }
    out
}

fn refund(f: &OrderFacts, lang: Lang) -> Vec<String> {
    if f.status == OrderStatus::Processing {
        return vec![say!(
            lang,
            "It can't be cancelled while the supplier is working on it; if the top-up fails, the payment is returned automatically.",
            "供货方处理期间无法取消；如直充失败，款项会自动退回。"
        )];
    }
    if !f.delivered() {
        return vec![undelivered(f, lang)];
    }
    let mut out = Vec::new();
    if f.refunded_amount > 0 {
        let amount = money(f.refunded_amount, &f.currency);
        out.push(say!(
            lang,
            "{amount} of it has been refunded.",
            "其中 {amount} 已退款。"
        ));
    }
    out.push(match f.pending_ticket() {
        Some(t) => {
            let id = &t.id;
            say!(
                lang,
                "After-sales ticket {id} is still open; if the supplier can't fix the code, it is refunded.",
                "售后工单 {id} 仍在处理中；如供货方无法解决，将予以退款。"
            )
        }
        None => say!(
            lang,
            "Delivered codes can't be returned, but if a code doesn't work, tell me and I'll raise it with the supplier for a replacement or a refund.",
            "已发放的卡密无法退回；如卡密无法使用，请告诉我，我会向供货方申请换卡或退款。"
        ),
    });
    out
}

fn find(actions: &[SupportAction], kind: ActionKind) -> Option<&SupportAction> {
    actions.iter().find(|a| a.kind == kind)
}
