//! Real-name verification (KYC) of resellers. The details are stored encrypted with the vault and
//! only ever shown masked — to the reseller and to the admin alike; the review decision is the
//! admin's and lands in the audit chain. A `verified` reseller is no longer held to
//! `KAMENG_UNVERIFIED_DAILY_LIMIT` (see `limits`).
//!
//! States (`resellers.kyc_status`): `unverified` → (submit) `pending` → (admin) `verified` or
//! `rejected`; a rejected or pending reseller may submit again (a pending submission is
//! replaced); a verified one may not, so a stray request cannot drop its verification.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::crypto::Vault;
use crate::db::schema::{kyc_submissions, resellers};
use crate::db::DbConn;
use crate::domain::money::chain::record_admin;
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::time::rfc3339;

/// `POST /v1/account/kyc` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KycRequest {
    /// The legal name of the person or company responsible for the account.
    pub legal_name: String,
    /// National ID or business registration number (4..64 letters, digits, `-`).
    pub id_number: String,
    /// Phone number or e-mail address for the reviewer.
    pub contact: String,
}

/// The verification state with the submitted details masked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Kyc {
    pub reseller_id: String,
    /// `unverified`, `pending`, `verified` or `rejected`.
    pub kyc_status: String,
    /// e.g. `张**`.
    pub legal_name: Option<String>,
    /// e.g. `1101**********1234`.
    pub id_number: Option<String>,
    /// e.g. `a****@example.com` or `*******5678`.
    pub contact: Option<String>,
    pub submitted_at: Option<String>,
    pub reviewed_at: Option<String>,
}

/// `POST /v1/admin/resellers/{id}/kyc` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KycDecision {
    /// `verified` or `rejected`.
    pub decision: String,
    pub memo: Option<String>,
}

/// Keeps the first `head` and last `tail` characters, masking the rest (always at least half).
fn mask_chars(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let (head, tail) = if head + tail > n / 2 {
        (n / 4, n / 4)
    } else {
        (head, tail)
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

pub fn mask_id_number(s: &str) -> String {
    mask_chars(s, 4, 4)
}

pub fn mask_name(s: &str) -> String {
    mask_chars(s, 1, 0)
}

pub fn mask_contact(s: &str) -> String {
    match s.split_once('@') {
        Some((local, domain)) => format!("{}@{domain}", mask_chars(local, 1, 0)),
        None => mask_chars(s, 0, 4),
    }
}

fn check_id_number(v: &str) -> Result<String> {
    let v = v.trim();
    let ok =
        (4..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(v.to_string())
    } else {
        Err(Error::invalid(
            "id_number",
            "must be 4..64 letters, digits or `-`",
        ))
    }
}

/// Stores a submission (encrypted) and sets the reseller `pending`.
pub fn submit(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    req: &KycRequest,
) -> Result<Kyc> {
    let legal_name = validate::non_empty("legal_name", &req.legal_name, 200)?;
    let id_number = check_id_number(&req.id_number)?;
    let contact = validate::non_empty("contact", &req.contact, 200)?;
    let status = kyc_status(conn, reseller_id)?;
    if status == "verified" {
        return Err(Error::Conflict(
            "this account's real name is already verified".into(),
        ));
    }
    let now = crate::time::now_ms();
    let row = (
        kyc_submissions::legal_name_enc.eq(vault.encrypt_str(&legal_name)),
        kyc_submissions::id_number_enc.eq(vault.encrypt_str(&id_number)),
        kyc_submissions::contact_enc.eq(vault.encrypt_str(&contact)),
        kyc_submissions::submitted_at.eq(now),
        kyc_submissions::reviewed_at.eq(None::<i64>),
        kyc_submissions::reviewed_by.eq(None::<String>),
    );
    let exists: i64 = kyc_submissions::table
        .filter(kyc_submissions::reseller_id.eq(reseller_id))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        diesel::update(kyc_submissions::table.find(reseller_id))
            .set(row)
            .execute(conn)?;
    } else {
        diesel::insert_into(kyc_submissions::table)
            .values((kyc_submissions::reseller_id.eq(reseller_id), row))
            .execute(conn)?;
    }
    diesel::update(resellers::table.find(reseller_id))
        .set(resellers::kyc_status.eq("pending"))
        .execute(conn)?;
    get(conn, vault, reseller_id)
}

fn kyc_status(conn: &mut DbConn, reseller_id: &str) -> Result<String> {
    resellers::table
        .find(reseller_id)
        .select(resellers::kyc_status)
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("reseller"))
}

type SubmissionRow = (String, String, String, i64, Option<i64>);

/// The reseller's verification state with its details masked.
pub fn get(conn: &mut DbConn, vault: &Vault, reseller_id: &str) -> Result<Kyc> {
    let kyc_status = kyc_status(conn, reseller_id)?;
    let row: Option<SubmissionRow> = kyc_submissions::table
        .find(reseller_id)
        .select((
            kyc_submissions::legal_name_enc,
            kyc_submissions::id_number_enc,
            kyc_submissions::contact_enc,
            kyc_submissions::submitted_at,
            kyc_submissions::reviewed_at,
        ))
        .first(conn)
        .optional()?;
    let mut kyc = Kyc {
        reseller_id: reseller_id.to_string(),
        kyc_status,
        legal_name: None,
        id_number: None,
        contact: None,
        submitted_at: None,
        reviewed_at: None,
    };
    if let Some((name, id_number, contact, submitted_at, reviewed_at)) = row {
        kyc.legal_name = Some(mask_name(&vault.decrypt_string(&name)?));
        kyc.id_number = Some(mask_id_number(&vault.decrypt_string(&id_number)?));
        kyc.contact = Some(mask_contact(&vault.decrypt_string(&contact)?));
        kyc.submitted_at = Some(rfc3339(submitted_at));
        kyc.reviewed_at = reviewed_at.map(rfc3339);
    }
    Ok(kyc)
}

/// The admin's decision on a pending submission (audited; the details stay out of the chain).
pub fn decide(
    conn: &mut DbConn,
    vault: &Vault,
    actor: &str,
    reseller_id: &str,
    d: &KycDecision,
) -> Result<Kyc> {
    let decision = match d.decision.as_str() {
        "verified" => "verified",
        "rejected" => "rejected",
        _ => {
            return Err(Error::invalid(
                "decision",
                "must be `verified` or `rejected`",
            ))
        }
    };
    let memo = d
        .memo
        .as_deref()
        .map(|m| validate::non_empty("memo", m, 500))
        .transpose()?;
    if kyc_status(conn, reseller_id)? != "pending" {
        return Err(Error::Conflict(
            "only a pending real-name submission can be decided".into(),
        ));
    }
    let now = crate::time::now_ms();
    diesel::update(kyc_submissions::table.find(reseller_id))
        .set((
            kyc_submissions::reviewed_at.eq(Some(now)),
            kyc_submissions::reviewed_by.eq(Some(actor)),
        ))
        .execute(conn)?;
    diesel::update(resellers::table.find(reseller_id))
        .set(resellers::kyc_status.eq(decision))
        .execute(conn)?;
    record_admin(
        conn,
        actor,
        "reseller.kyc",
        reseller_id,
        json!({ "decision": decision, "memo": memo }),
    )?;
    get(conn, vault, reseller_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_little_of_the_details() {
        assert_eq!(mask_id_number("110101199003071234"), "1101**********1234");
        assert_eq!(mask_id_number("A1234567"), "A1****67");
        assert_eq!(mask_id_number("1234"), "1**4");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("Li"), "L*");
        assert_eq!(mask_contact("alice@example.com"), "a****@example.com");
        assert_eq!(mask_contact("+8613812345678"), "**********5678");
    }
}
