//! Pending deliveries survive a crash (kill -9) and a restart.

use crate::common::{cards, test_database, ADMIN_PASS, ADMIN_USER};
use crate::process::ServerProcess;
use crate::receiver::Receiver;
use kameng::client::AdminClient;

#[actix_web::test]
async fn pending_callbacks_survive_kill_9_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let env = [("KAMENG_WEBHOOK_RETRY_SCHEDULE", "1,1,1,1,1,1,1,1,1,1")];
    let rx = Receiver::start();
    rx.respond_with(503);

    let server = ServerProcess::start(&db.url, dir.path(), &env).await;
    let admin = AdminClient::login(&server.base, ADMIN_USER, ADMIN_PASS)
        .await
        .unwrap();
    let s = admin.create_supplier("Acme", None).await.unwrap();
    let p = crate::common::card_product_on(&admin, &s.supplier.id, "K9").await;
    let supplier = kameng::client::Client::new(&server.base, &s.api_key.key_id, &s.api_key.secret);
    supplier.push_cards(&p, &cards("K9", 0..3)).await.unwrap();
    let r = admin
        .create_reseller("Shop", None, Some(&rx.url))
        .await
        .unwrap();
    admin.credit(&r.reseller.id, 1_000).await.unwrap();
    let reseller = kameng::client::Client::new(&server.base, &r.api_key.key_id, &r.api_key.secret);
    let order = reseller.buy(&p, 1, "K9-1").await.unwrap();
    rx.wait_for(5, |g| !g.is_empty()).await; // the first attempt failed with 503
    server.kill9();

    rx.respond_with(200);
    let server = ServerProcess::start(&db.url, dir.path(), &env).await;
    // Normally the retry comes within a second or two. If the kill landed between the first
    // attempt's POST and its record, the event is still leased to the dead instance, and the
    // new one takes it when the lease ends (`LEASE_MS`, 60 s): wait past that, so a loaded
    // machine does not turn that designed recovery into a failure.
    let got = rx.wait_for(75, |g| g.len() >= 2).await;
    assert!(got.iter().all(|g| g.event_id == got[0].event_id));
    assert_eq!(got.last().unwrap().json()["data"]["order_id"], order.id);
    // The order and its codes are intact after the crash.
    let reseller = kameng::client::Client::new(&server.base, &r.api_key.key_id, &r.api_key.secret);
    assert_eq!(
        reseller
            .order(&order.id)
            .await
            .unwrap()
            .cards
            .unwrap()
            .len(),
        1
    );
    let admin = AdminClient::login(&server.base, ADMIN_USER, ADMIN_PASS)
        .await
        .unwrap();
    assert!(admin.verify_audit().await.unwrap().ok);
}
