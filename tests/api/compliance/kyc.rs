//! Real-name verification: encrypted at rest, masked when read, decided by an admin.

use diesel::prelude::*;
use kameng::domain::accounts::kyc::KycRequest;
use kameng::domain::money::chain::Record;
use reqwest::Method;

use super::admin_audit;
use crate::common::TestApp;

#[actix_web::test]
async fn kyc_details_are_stored_encrypted_shown_masked_and_decided_by_an_admin() {
    let app = TestApp::spawn().await;
    let (r, client) = app.reseller(None, 0).await;
    let id_number = "110101199003071234";
    let req = KycRequest {
        legal_name: "Zhang Sanfeng".into(),
        id_number: id_number.into(),
        contact: "zhang@example.com".into(),
    };
    let res = client
        .send_raw(
            Method::POST,
            "/v1/account/kyc",
            serde_json::to_vec(&req).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 202);
    let mine = client.kyc().await.unwrap();
    assert_eq!(mine.kyc_status, "pending");
    assert_eq!(mine.id_number.as_deref(), Some("1101**********1234"));
    assert_eq!(mine.legal_name.as_deref(), Some("Z************"));
    assert_eq!(mine.contact.as_deref(), Some("z****@example.com"));
    assert_eq!(app.admin.reseller_kyc(&r.reseller.id).await.unwrap(), mine);
    assert_eq!(client.account().await.unwrap().kyc_status, "pending");

    // Rejected, then resubmitted, then verified; the decisions are audited by the admin.
    let k = app
        .admin
        .decide_kyc(&r.reseller.id, "rejected")
        .await
        .unwrap();
    assert_eq!(k.kyc_status, "rejected");
    let err = app
        .admin
        .decide_kyc(&r.reseller.id, "verified")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    client.submit_kyc(&req).await.unwrap();
    app.admin
        .decide_kyc(&r.reseller.id, "verified")
        .await
        .unwrap();
    assert_eq!(client.account().await.unwrap().kyc_status, "verified");
    let err = client.submit_kyc(&req).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    let decisions: Vec<Record> = admin_audit(&app)
        .await
        .into_iter()
        .filter(|rec| rec.action == "reseller.kyc")
        .collect();
    assert_eq!(decisions.len(), 2);
    assert!(decisions.iter().all(|d| d.actor.contains("root")));

    // The plaintext is nowhere in the database.
    let (rows, details): (Vec<(String, String, String)>, Vec<String>) = app
        .state
        .db
        .read(|c| {
            use kameng::db::schema::{audit_chain, kyc_submissions};
            let rows = kyc_submissions::table
                .select((
                    kyc_submissions::legal_name_enc,
                    kyc_submissions::id_number_enc,
                    kyc_submissions::contact_enc,
                ))
                .load(c)?;
            let details = audit_chain::table.select(audit_chain::detail).load(c)?;
            Ok((rows, details))
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored = format!("{rows:?}{details:?}");
    for secret in [id_number, "Zhang Sanfeng", "zhang@example.com"] {
        assert!(!stored.contains(secret), "{secret} stored in clear");
    }
    if let Some(path) = kameng::db::sqlite_path(&app.state.config.database_url) {
        for file in [path.to_string(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let hit = bytes
                .windows(id_number.len())
                .any(|w| w == id_number.as_bytes());
            assert!(!hit, "{id_number} found in {file}");
        }
    }
}
