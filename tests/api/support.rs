//! The support assistant: each intent answered from the order's real state in English and
//! Chinese, the actions it may take (resend a callback, open a ticket) and when it must not,
//! isolation between resellers, bad input, and the classifier's held-out evaluation.

mod actions;
mod answers;
mod eval;
mod input;

use kameng::client::{Client, ClientResult};
use kameng::domain::support::{SupportAnswer, SupportMessage};
use kameng::domain::trade::catalog::{AdminProduct, NewProduct};
use kameng::domain::trade::orders::Order;

use crate::common::{cards, new_direct_product, topup_req, TestApp};
use crate::receiver::Receiver;

pub const HOW_TO: &str = "Open Steam, choose Games > Activate a Product on Steam, enter the code.";

/// A supplier with a card product (with redeem instructions, 10 codes) and a direct top-up
/// product, and a reseller with a callback receiver and 10,000 to spend.
pub struct Shop {
    pub supplier: Client,
    pub card: AdminProduct,
    pub direct: AdminProduct,
    pub client: Client,
    pub rx: Receiver,
}

pub async fn shop(app: &TestApp) -> Shop {
    let (s, supplier) = app.supplier().await;
    let card = app
        .admin
        .create_product(&NewProduct {
            sku: "STEAM-100".into(),
            name: "Steam 100".into(),
            category: "steam".into(),
            supplier_id: s.supplier.id.clone(),
            face_value: 100,
            cost: 80,
            price: 100,
            delivery: "card".into(),
            instructions: Some(HOW_TO.into()),
            max_quantity: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    supplier
        .push_cards(&card.product.id, &cards("STEAM", 0..10))
        .await
        .unwrap();
    let direct = new_direct_product(
        &app.admin,
        &s.supplier.id,
        "GAME-TOPUP",
        (500, 450),
        &["account"],
    )
    .await;
    let rx = Receiver::start();
    let (_, client) = app.reseller_with_callback(&rx.url, 10_000).await;
    Shop {
        supplier,
        card,
        direct,
        client,
        rx,
    }
}

impl Shop {
    /// One delivered code; waits for its `order.delivered` callback so later resends are
    /// told apart from the first delivery.
    pub async fn delivered(&self, trade_no: &str) -> Order {
        let order = self
            .client
            .buy(&self.card.product.id, 1, trade_no)
            .await
            .unwrap();
        self.rx
            .wait_for(5, |got| {
                got.iter()
                    .any(|r| r.json()["data"]["order_id"] == order.id.as_str())
            })
            .await;
        order
    }

    /// A direct top-up, still `processing`.
    pub async fn topup(&self, trade_no: &str) -> Order {
        let req = topup_req(
            &self.direct.product.id,
            1,
            trade_no,
            serde_json::json!({"account": "player-1"}),
        );
        self.client.create_order(&req).await.unwrap().0
    }

    /// Callbacks received about `order_id`.
    pub fn callbacks_about(&self, order_id: &str) -> usize {
        self.rx
            .received()
            .iter()
            .filter(|r| r.json()["data"]["order_id"] == order_id)
            .count()
    }
}

/// `text` about `order_id`, in the language the text is written in.
pub async fn ask(client: &Client, text: &str, order_id: Option<&str>) -> SupportAnswer {
    client.ask_support(text, order_id).await.unwrap()
}

/// The raw answer to a message (for errors).
pub async fn send(client: &Client, msg: &SupportMessage) -> ClientResult<SupportAnswer> {
    client.support_message(msg).await
}
