//! After-sales: full disputes each way, the SLA sweep, racing resolutions, the ticket rules,
//! supplier quality with batch withdrawal, and cross-supplier duplicate flags.

mod quality;
mod races;
mod rules;

use kameng::client::{Client, ClientResult};
use kameng::domain::accounts::{ResellerCreated, SupplierCreated};
use kameng::domain::aftersales::tickets::{NewTicket, SupplierResponse, Ticket};
use kameng::domain::trade::catalog::AdminProduct;
use kameng::domain::trade::orders::Order;
use tokio::task::JoinHandle;

use crate::common::{cards, TestApp};
use crate::compliance::admin_audit;
use crate::receiver::Receiver;

/// Both sides of a dispute, each with a callback receiver.
pub struct Parties {
    pub supplier: SupplierCreated,
    pub supplier_client: Client,
    pub supplier_rx: Receiver,
    pub product: AdminProduct,
    pub reseller: ResellerCreated,
    pub reseller_client: Client,
    pub reseller_rx: Receiver,
}

/// A supplier with one card product (price 100, cost 80, `stock` codes in batch `batch-1`) and a
/// reseller holding 10,000.
pub async fn parties(app: &TestApp, sku: &str, stock: usize) -> Parties {
    let supplier_rx = Receiver::start();
    let supplier = app
        .admin
        .create_supplier("Acme Games", Some(&supplier_rx.url))
        .await
        .unwrap();
    let supplier_client = app.client(&supplier.api_key.key_id, &supplier.api_key.secret);
    let product = app.card_product(&supplier.supplier.id, sku, 100, 80).await;
    if stock > 0 {
        supplier_client
            .push_cards(&product.product.id, &cards(sku, 0..stock))
            .await
            .unwrap();
    }
    let reseller_rx = Receiver::start();
    let reseller = app
        .admin
        .create_reseller("Shop", None, Some(&reseller_rx.url))
        .await
        .unwrap();
    app.admin
        .credit(&reseller.reseller.id, 10_000)
        .await
        .unwrap();
    let reseller_client = app.client(&reseller.api_key.key_id, &reseller.api_key.secret);
    Parties {
        supplier,
        supplier_client,
        supplier_rx,
        product,
        reseller,
        reseller_client,
        reseller_rx,
    }
}

impl Parties {
    pub async fn buy(&self, quantity: i64, trade_no: &str) -> Order {
        self.reseller_client
            .buy(&self.product.product.id, quantity, trade_no)
            .await
            .unwrap()
    }

    pub async fn balance(&self) -> i64 {
        self.reseller_client.account().await.unwrap().balance
    }

    /// Codes of the product in stock, as the reseller sees it.
    pub async fn stock(&self) -> i64 {
        let product = self.reseller_client.product(&self.product.product.id);
        product.await.unwrap().stock.unwrap()
    }

    /// The reseller opens a ticket on one card of `order_id`, or on the whole order (`None`).
    pub async fn open(&self, order_id: &str, card_code: Option<&str>) -> ClientResult<Ticket> {
        self.reseller_client
            .open_ticket(&new_ticket(order_id, card_code))
            .await
    }

    /// The supplier answers ticket `id` (`code`: its own replacement code).
    pub async fn respond(
        &self,
        id: &str,
        action: &str,
        code: Option<&str>,
    ) -> ClientResult<Ticket> {
        self.supplier_client
            .respond_ticket(id, &answer(action, code))
            .await
    }

    /// A whole-order ticket on `order_id` that the supplier contested: the admin's to decide.
    pub async fn contested_ticket(&self, order_id: &str) -> Ticket {
        let t = self.open(order_id, None).await.unwrap();
        self.respond(&t.id, "contest", None).await.unwrap()
    }
}

pub fn new_ticket(order_id: &str, card_code: Option<&str>) -> NewTicket {
    NewTicket {
        order_id: order_id.into(),
        reason: "invalid_code".into(),
        card_code: card_code.map(str::to_string),
        message: Some("the code does not redeem".into()),
    }
}

pub fn answer(action: &str, code: Option<&str>) -> SupplierResponse {
    SupplierResponse {
        action: action.into(),
        code: code.map(str::to_string),
        secret: code.map(|_| "PIN-NEW".to_string()),
        message: Some(format!("{action} it")),
    }
}

/// Awaits requests sent at once: how many succeeded. Every other one lost with `conflict`.
pub async fn applied<T>(tasks: Vec<JoinHandle<ClientResult<T>>>) -> usize {
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.code(), Some("conflict"), "{e}"),
        }
    }
    won
}

/// The sum of a ledger account's entries, straight from the database.
pub fn account_sum(app: &TestApp, account: &str) -> i64 {
    app.state
        .db
        .read(|c| kameng::domain::money::ledger::account_sum(c, account))
        .unwrap()
}

/// The status of every card a test cares about, by code.
pub fn card_status(app: &TestApp, code: &str) -> String {
    use diesel::prelude::*;
    use kameng::db::schema::cards;
    let hash = app.state.vault.code_hash(code);
    app.state
        .db
        .read(|c| {
            Ok(cards::table
                .filter(cards::code_hash.eq(hash))
                .select(cards::status)
                .first::<String>(c)?)
        })
        .unwrap()
}

#[actix_web::test]
async fn a_card_replaced_with_the_suppliers_code_reaches_the_reseller_once() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "RPL", 5).await;
    let order = p.buy(2, "RPL-1").await;
    let bad = order.cards.as_ref().unwrap()[0].code.clone();
    let balance = p.balance().await;

    let t = p.open(&order.id, Some(&bad)).await.unwrap();
    assert_eq!((t.status.as_str(), t.units), ("open", 1));
    assert_eq!(t.card_code.as_deref(), Some(bad.as_str()));
    assert_eq!(t.resolution, None);

    // The supplier is told, and sees the ticket with the code it pushed.
    let opened = p.supplier_rx.event("ticket.opened").await;
    assert_eq!(opened.json()["data"]["ticket_id"], t.id.as_str());
    assert!(!String::from_utf8_lossy(&opened.body).contains(&bad));
    let queue = p
        .supplier_client
        .supplier_tickets("status=open")
        .await
        .unwrap();
    assert_eq!(queue.data.len(), 1);
    assert_eq!(queue.data[0].card_code.as_deref(), Some(bad.as_str()));

    let answered = p
        .respond(&t.id, "replace", Some("FRESH-CODE-1"))
        .await
        .unwrap();
    assert_eq!(answered.status, "resolved");
    assert_eq!(answered.resolution.as_deref(), Some("replace"));
    assert_eq!(answered.response_message.as_deref(), Some("replace it"));

    // The reseller reads the replacement in plaintext; the callback carries no code.
    let seen = p.reseller_client.ticket(&t.id).await.unwrap();
    let replacement = seen.replacement.unwrap();
    assert_eq!(replacement.len(), 1);
    assert_eq!(replacement[0].code, "FRESH-CODE-1");
    assert_eq!(replacement[0].secret.as_deref(), Some("PIN-NEW"));
    let resolved = p.reseller_rx.event("ticket.resolved").await;
    assert_eq!(resolved.json()["data"]["resolution"], "replace");
    assert!(!String::from_utf8_lossy(&resolved.body).contains("FRESH-CODE-1"));

    // Answered once: a second answer changes nothing. No money moved.
    let err = p.respond(&t.id, "refund", None).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    assert_eq!(p.balance().await, balance);
    assert_eq!(card_status(&app, &bad), "defective");
    assert_eq!(card_status(&app, "FRESH-CODE-1"), "sold");
    // A replacement code is a stored code like any other: pushing it again is a duplicate.
    let again = p
        .supplier_client
        .push_cards(
            &p.product.product.id,
            &kameng::domain::trade::inventory::PushCards {
                cards: vec![kameng::domain::trade::inventory::NewCard {
                    code: "FRESH-CODE-1".into(),
                    secret: None,
                    expires_at: None,
                }],
                batch_ref: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 1));

    // The replacement can itself be ticketed (once): refunding it returns one card's price.
    let t2 = p.open(&order.id, Some("FRESH-CODE-1")).await.unwrap();
    let err = p.open(&order.id, Some("FRESH-CODE-1")).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    p.respond(&t2.id, "refund", None).await.unwrap();
    assert_eq!(p.balance().await, balance + 100);
    assert_eq!(card_status(&app, "FRESH-CODE-1"), "defective");
    assert_eq!(
        p.reseller_client.order(&order.id).await.unwrap().status,
        "delivered"
    );
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_refunded_card_credits_the_reseller_and_charges_the_supplier_back() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "RFD", 5).await;
    let order = p.buy(3, "RFD-1").await;
    let codes: Vec<String> = order.cards.unwrap().into_iter().map(|c| c.code).collect();
    let supplier_acct = format!("supplier:{}", p.supplier.supplier.id);
    assert_eq!(p.balance().await, 10_000 - 300);
    assert_eq!(account_sum(&app, &supplier_acct), 240);

    let t = p.open(&order.id, Some(&codes[1])).await.unwrap();
    // A refund takes no replacement card: the 422 names the field that was sent.
    let secret_only = SupplierResponse {
        secret: Some("PIN".into()),
        ..answer("refund", None)
    };
    let err = p
        .supplier_client
        .respond_ticket(&t.id, &secret_only)
        .await
        .unwrap_err();
    let kameng::client::ClientError::Api { problem, .. } = err else {
        panic!("expected a problem document, got {err}");
    };
    assert_eq!(problem.errors[0].field, "secret");
    let done = p.respond(&t.id, "refund", None).await.unwrap();
    assert_eq!(done.resolution.as_deref(), Some("refund"));
    assert_eq!(done.refund_amount, Some(100));
    // One card's share: reseller +100, supplier payable -80, platform margin -20.
    assert_eq!(p.balance().await, 10_000 - 200);
    assert_eq!(account_sum(&app, &supplier_acct), 160);
    assert_eq!(account_sum(&app, "platform:revenue"), 40);
    assert_eq!(card_status(&app, &codes[1]), "defective");
    assert_eq!(
        p.reseller_client.order(&order.id).await.unwrap().status,
        "delivered"
    );
    let refunded = p.reseller_rx.event("order.refunded").await;
    assert_eq!(refunded.json()["data"]["amount"], 100);
    assert_eq!(refunded.json()["data"]["order_id"], order.id.as_str());
    app.assert_books_balance().await;

    // The other two cards, one refunded by the supplier and one by the admin: the order is then
    // refunded in full and the books are back where they started.
    let t0 = p.open(&order.id, Some(&codes[0])).await.unwrap();
    let t2 = p.open(&order.id, Some(&codes[2])).await.unwrap();
    p.respond(&t0.id, "refund", None).await.unwrap();
    let by_admin = app
        .admin
        .resolve_ticket(&t2.id, "refund", Some("supplier unreachable"))
        .await
        .unwrap();
    assert_eq!(by_admin.resolved_by.as_deref(), Some("admin:root"));
    assert_eq!(p.balance().await, 10_000);
    assert_eq!(account_sum(&app, &supplier_acct), 0);
    assert_eq!(account_sum(&app, "platform:revenue"), 0);
    assert_eq!(
        p.reseller_client.order(&order.id).await.unwrap().status,
        "refunded"
    );
    // A refunded order takes no more tickets.
    let err = p.open(&order.id, None).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_contested_ticket_rejected_by_the_admin_moves_no_money() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "CRJ", 3).await;
    let order = p.buy(1, "CRJ-1").await;
    let code = order.cards.unwrap()[0].code.clone();
    let t = p.open(&order.id, Some(&code)).await.unwrap();
    let contested = p.respond(&t.id, "contest", None).await.unwrap();
    assert_eq!(contested.status, "contested");
    assert_eq!(contested.resolved_at, None);
    // Contested is the admin's to decide now.
    let err = p.respond(&t.id, "refund", None).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    let queue = app.admin.tickets("status=contested").await.unwrap();
    assert_eq!(queue.data.len(), 1);
    assert_eq!(queue.data[0].ticket.id, t.id);
    assert_eq!(queue.data[0].reseller_id, p.reseller.reseller.id);
    assert_eq!(queue.data[0].supplier_id, p.supplier.supplier.id);

    let rejected = app
        .admin
        .resolve_ticket(
            &t.id,
            "reject",
            Some("redeemed on 2026-01-02 per issuer log"),
        )
        .await
        .unwrap();
    assert_eq!(rejected.ticket.status, "rejected");
    assert_eq!(rejected.ticket.resolution, None);
    assert_eq!(
        rejected.ticket.memo.as_deref(),
        Some("redeemed on 2026-01-02 per issuer log")
    );
    assert_eq!(p.balance().await, 10_000 - 100);
    assert_eq!(card_status(&app, &code), "sold");
    let ev = p.reseller_rx.event("ticket.resolved").await;
    assert_eq!(ev.json()["data"]["status"], "rejected");
    assert!(!p
        .reseller_rx
        .received()
        .iter()
        .any(|r| r.event_type == "order.refunded"));
    assert!(admin_audit(&app)
        .await
        .iter()
        .any(|r| r.action == "ticket.resolve" && r.subject == t.id && r.actor == "admin:root"));
    // Decided once.
    let err = app
        .admin
        .resolve_ticket(&t.id, "refund", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_contested_whole_order_ticket_refunded_by_the_admin_reverses_the_order() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "CRF", 4).await;
    let order = p.buy(2, "CRF-1").await;
    let t = p.contested_ticket(&order.id).await;
    assert_eq!((t.units, t.card_code.as_deref()), (2, None));
    let decided = app
        .admin
        .resolve_ticket(&t.id, "refund", None)
        .await
        .unwrap();
    assert_eq!(decided.ticket.status, "resolved");
    assert_eq!(decided.ticket.refund_amount, Some(200));
    assert_eq!(p.balance().await, 10_000);
    assert_eq!(
        account_sum(&app, &format!("supplier:{}", p.supplier.supplier.id)),
        0
    );
    let o = p.reseller_client.order(&order.id).await.unwrap();
    assert_eq!(o.status, "refunded");
    for c in o.cards.unwrap() {
        assert_eq!(card_status(&app, &c.code), "defective");
    }
    let got = p
        .reseller_rx
        .wait_for(5, |g| {
            g.iter().any(|r| r.event_type == "order.refunded")
                && g.iter().any(|r| r.event_type == "ticket.resolved")
        })
        .await;
    let ev = got
        .iter()
        .find(|r| r.event_type == "order.refunded")
        .unwrap();
    assert_eq!(ev.json()["data"]["status"], "refunded");
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn an_admin_replacement_without_stock_goes_back_to_the_supplier() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "AWS", 2).await;
    let order = p.buy(2, "AWS-1").await;
    let t = p.contested_ticket(&order.id).await;
    let waiting = app
        .admin
        .resolve_ticket(&t.id, "replace", Some("replace both"))
        .await
        .unwrap();
    assert_eq!(waiting.ticket.status, "awaiting_supplier");
    p.supplier_rx
        .wait_for(5, |g| {
            g.iter()
                .any(|r| r.event_type == "ticket.replacement_requested")
        })
        .await;
    // It can no longer be contested; one code cannot replace two cards.
    let err = p.respond(&t.id, "contest", None).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    let err = p
        .respond(&t.id, "replace", Some("ONE-CODE"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
    let err = p.respond(&t.id, "replace", None).await.unwrap_err();
    assert_eq!(err.code(), Some("out_of_stock"));

    // New stock, then a replacement from it.
    p.supplier_client
        .push_cards(&p.product.product.id, &cards("AWS-NEW", 0..3))
        .await
        .unwrap();
    let done = p.respond(&t.id, "replace", None).await.unwrap();
    assert_eq!(done.resolution.as_deref(), Some("replace"));
    let seen = p.reseller_client.ticket(&t.id).await.unwrap();
    let codes: Vec<String> = seen
        .replacement
        .unwrap()
        .into_iter()
        .map(|c| c.code)
        .collect();
    assert_eq!(codes, vec!["AWS-NEW-CODE-000000", "AWS-NEW-CODE-000001"]);
    assert_eq!(p.stock().await, 1);
    // The original order still shows exactly its own two cards.
    let o = p.reseller_client.order(&order.id).await.unwrap();
    assert_eq!(o.cards.unwrap().len(), 2);
    assert_eq!(p.balance().await, 10_000 - 200);
    app.assert_books_balance().await;
}

/// Exercises `Ticket` equality so the list and single views agree on everything but codes.
pub fn without_codes(t: &Ticket) -> Ticket {
    Ticket {
        card_code: None,
        replacement: None,
        ..t.clone()
    }
}
