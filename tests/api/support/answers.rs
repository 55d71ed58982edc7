//! Each intent answered from the order's real state, in English and in Chinese.

use kameng::domain::support::{Intent, Lang, SupportMessage};

use super::{ask, send, shop, HOW_TO};
use crate::common::{topup_result, TestApp};

#[actix_web::test]
async fn code_not_received_answers_from_the_delivered_order_in_both_languages() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let order = shop.delivered("NR-1").await;

    let en = ask(
        &shop.client,
        "I paid but the code never came",
        Some(&order.id),
    )
    .await;
    assert_eq!(en.intent, Intent::CodeNotReceived);
    assert_eq!(en.lang, Lang::En);
    assert!((0.3..=1.0).contains(&en.confidence), "{}", en.confidence);
    assert!(en.answer.contains(&order.id), "{}", en.answer);
    assert!(
        en.answer.contains("Steam 100 × 1) is delivered, on "),
        "{}",
        en.answer
    );

    let zh = ask(&shop.client, "付款了一直没收到卡密", Some(&order.id)).await;
    assert_eq!(zh.intent, Intent::CodeNotReceived);
    assert_eq!(zh.lang, Lang::Zh);
    assert!(
        zh.answer.contains("Steam 100 × 1）已发货，时间 "),
        "{}",
        zh.answer
    );

    // Without an order the assistant asks for one and does nothing.
    let ask_id = ask(&shop.client, "I never got my code", None).await;
    assert_eq!(ask_id.intent, Intent::CodeNotReceived);
    assert!(ask_id.actions.is_empty());
    assert!(ask_id.answer.contains("order number"), "{}", ask_id.answer);
    let ask_zh = ask(&shop.client, "卡密没收到", None).await;
    assert!(ask_zh.answer.contains("请提供订单号"), "{}", ask_zh.answer);
}

#[actix_web::test]
async fn how_to_redeem_quotes_the_products_instructions_or_says_a_top_up_needs_none() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let order = shop.delivered("HR-1").await;

    let en = ask(&shop.client, "how do i use this card?", Some(&order.id)).await;
    assert_eq!(en.intent, Intent::HowToRedeem);
    assert!(
        en.answer
            .contains(&format!("How to redeem Steam 100: {HOW_TO}")),
        "{}",
        en.answer
    );
    assert!(en.actions.is_empty());

    let zh = ask(&shop.client, "这个卡密怎么兑换啊", Some(&order.id)).await;
    assert_eq!(zh.intent, Intent::HowToRedeem);
    assert!(
        zh.answer.contains(&format!("Steam 100 兑换方法：{HOW_TO}")),
        "{}",
        zh.answer
    );

    let topup = shop.topup("HR-2").await;
    let direct = ask(&shop.client, "how do I redeem it?", Some(&topup.id)).await;
    assert!(
        direct
            .answer
            .contains("is a direct top-up: there is no code to redeem"),
        "{}",
        direct.answer
    );
}

#[actix_web::test]
async fn order_status_follows_a_top_up_from_processing_to_completed() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let order = shop.topup("OS-1").await;
    assert_eq!(order.status, "processing");

    let en = ask(
        &shop.client,
        "what's the status of my order?",
        Some(&order.id),
    )
    .await;
    assert_eq!(en.intent, Intent::OrderStatus);
    assert!(
        en.answer
            .contains("is still processing. It has been processing since"),
        "{}",
        en.answer
    );
    let zh = ask(&shop.client, "我的订单现在什么状态", Some(&order.id)).await;
    assert_eq!(zh.intent, Intent::OrderStatus);
    assert!(zh.answer.contains("正在处理中"), "{}", zh.answer);

    let res = topup_result(
        &shop.supplier,
        &order.id,
        serde_json::json!({"status": "success"}),
    )
    .await;
    assert!(res.status.is_success());
    let done = ask(&shop.client, "is my order done?", Some(&order.id)).await;
    assert!(
        done.answer.contains("× 1) is completed, on "),
        "{}",
        done.answer
    );
    let zh = ask(&shop.client, "订单完成了没有", Some(&order.id)).await;
    assert!(zh.answer.contains("已完成，时间"), "{}", zh.answer);
}

#[actix_web::test]
async fn refund_requests_are_answered_from_what_happened_to_the_money() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let delivered = shop.delivered("RF-1").await;
    let en = ask(&shop.client, "I want my money back", Some(&delivered.id)).await;
    assert_eq!(en.intent, Intent::RefundRequest);
    assert!(
        en.answer.contains("Delivered codes can't be returned"),
        "{}",
        en.answer
    );
    assert!(en.actions.is_empty(), "a refund request takes no action");

    let failed = shop.topup("RF-2").await;
    topup_result(
        &shop.supplier,
        &failed.id,
        serde_json::json!({"status": "failed"}),
    )
    .await;
    let zh = ask(&shop.client, "我要退款", Some(&failed.id)).await;
    assert_eq!(zh.intent, Intent::RefundRequest);
    assert!(
        zh.answer.contains("失败。直充未成功，款项已全额退回。"),
        "{}",
        zh.answer
    );
    let en = ask(&shop.client, "refund please", Some(&failed.id)).await;
    assert!(
        en.answer.contains("the payment was returned in full"),
        "{}",
        en.answer
    );
    shop.client.account().await.unwrap();
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn other_and_unsure_messages_offer_help_and_lang_overrides_detection() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let en = ask(&shop.client, "do you sell netflix cards?", None).await;
    assert_eq!(en.intent, Intent::Other);
    assert!(en.answer.starts_with("I can help with"), "{}", en.answer);
    let zh = ask(&shop.client, "你们有网飞会员卖吗", None).await;
    assert_eq!(zh.intent, Intent::Other);
    assert!(zh.answer.starts_with("我可以帮您处理"), "{}", zh.answer);

    // Nothing the model knows is `other` too.
    let noise = ask(&shop.client, "qqq zzz", None).await;
    assert_eq!(noise.intent, Intent::Other);
    assert!(
        (0.0..=1.0).contains(&noise.confidence),
        "{}",
        noise.confidence
    );

    // `lang` wins over the text's own language.
    let msg = SupportMessage {
        text: "卡密没收到".into(),
        order_id: None,
        lang: Some("en".into()),
    };
    let forced = send(&shop.client, &msg).await.unwrap();
    assert_eq!(forced.lang, Lang::En);
    assert!(forced.answer.contains("order number"), "{}", forced.answer);
}

#[actix_web::test]
async fn a_gift_link_order_is_answered_with_whether_its_link_was_redeemed() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let (order, tokens) =
        crate::claims::buy_links(&shop.client, &shop.card.product.id, 1, "GL-1").await;
    let question = "I paid but the code never came";
    let before = ask(&shop.client, question, Some(&order.id)).await;
    assert!(
        before.answer.contains("gift link has not been claimed yet"),
        "{}",
        before.answer
    );
    kameng::client::ClaimHolder::new(&app.base)
        .redeem(&tokens[0])
        .await
        .unwrap();
    let after = ask(&shop.client, question, Some(&order.id)).await;
    assert!(
        after.answer.contains("gift link was already claimed"),
        "{}",
        after.answer
    );
}
