//! The unsigned side of a gift link: what its holder may see, and redeeming it. The token is
//! the only credential, so an unknown one is `not_found` (the caller counts it as a guess)
//! and nothing here names the buyer.

use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{token_hash, ClaimStatus};
use crate::crypto::Vault;
use crate::db::schema::{cards, claims, products};
use crate::db::stmt::stmt;
use crate::db::{Db, DbConn};
use crate::domain::trade::inventory::{self, DeliveredCard, SealedCard};
use crate::domain::trade::orders;
use crate::error::{Error, Result};
use crate::events::outbox::{self, NewEvent};
use crate::time::rfc3339;

/// A gift link as its holder sees it before redeeming: the product, never the buyer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PublicClaim {
    /// `unclaimed`, `claimed`, `expired` or `revoked`; an unclaimed link past its
    /// `expires_at` reads `expired` (the sweep returns its card shortly).
    pub status: String,
    pub product_name: String,
    /// In minor units of `currency`.
    pub face_value: i64,
    pub currency: String,
    pub expires_at: String,
    pub claimed_at: Option<String>,
}

/// What redeeming reveals, once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Redeemed {
    pub product_name: String,
    pub face_value: i64,
    pub currency: String,
    /// How to use the code, as the product states it.
    pub instructions: String,
    pub card: DeliveredCard,
    pub claimed_at: String,
}

/// Tokens are `gl_` and 48 hex digits; anything else is not looked up at all.
fn well_formed(token: &str) -> bool {
    token.len() == 51
        && token.starts_with("gl_")
        && token[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The link's product and state; `not_found` for an unknown token.
pub fn lookup(conn: &mut DbConn, token: &str, now: i64) -> Result<PublicClaim> {
    if !well_formed(token) {
        return Err(Error::NotFound("claim"));
    }
    let (status, expires_at, claimed_at, name, face_value, currency): (
        ClaimStatus,
        i64,
        Option<i64>,
        String,
        i64,
        String,
    ) = claims::table
        .inner_join(products::table.on(products::id.eq(claims::product_id)))
        .filter(claims::token_hash.eq(token_hash(token)))
        .select((
            claims::status,
            claims::expires_at,
            claims::claimed_at,
            products::name,
            products::face_value,
            products::currency,
        ))
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("claim"))?;
    let status = match status {
        ClaimStatus::Unclaimed if expires_at <= now => ClaimStatus::Expired,
        s => s,
    };
    Ok(PublicClaim {
        status: status.to_string(),
        product_name: name,
        face_value,
        currency,
        expires_at: rfc3339(expires_at),
        claimed_at: claimed_at.map(rfc3339),
    })
}

/// The winner's claim, as the conditional UPDATE returns it.
type Won = (String, String, i64, Option<String>);

/// What the winning transaction hands out of the writer: still sealed, so the writer does
/// not spend its time decrypting.
struct Taken {
    card: SealedCard,
    product_name: String,
    face_value: i64,
    currency: String,
    instructions: String,
    claimed_at: i64,
}

/// Flips the claim to `claimed` if it is still open and unexpired — the one statement that
/// decides among concurrent redeemers — then enqueues `claim.redeemed` to the buyer.
fn take(conn: &mut DbConn, hash: &str, now: i64) -> Result<Taken> {
    let won: Option<Won> = stmt(
        "UPDATE claims SET status = 'claimed', claimed_at = ? \
         WHERE token_hash = ? AND status = 'unclaimed' AND expires_at > ? \
         RETURNING id, order_id, card_id, recipient_ref",
        [now.into(), hash.into(), now.into()],
    )
    .returning::<(Text, Text, BigInt, Nullable<Text>)>()
    .one(conn)
    .optional()?;
    let Some((claim_id, order_id, card_id, recipient_ref)) = won else {
        return Err(why_not(conn, hash));
    };
    let card: SealedCard = cards::table
        .find(card_id)
        .select((
            cards::id,
            cards::code_enc,
            cards::secret_enc,
            cards::expires_at,
        ))
        .first(conn)?;
    let order = orders::load(conn, &order_id)?;
    let (product_name, face_value, currency, instructions): (String, i64, String, String) =
        products::table
            .find(&order.product_id)
            .select((
                products::name,
                products::face_value,
                products::currency,
                products::instructions,
            ))
            .first(conn)?;
    let url = orders::callback_url(conn, &order)?;
    outbox::enqueue(
        conn,
        NewEvent {
            event_type: "claim.redeemed",
            owner_kind: "reseller",
            owner_id: &order.reseller_id,
            url: url.as_deref(),
            data: json!({
                "claim_id": claim_id,
                "order_id": order.id,
                "out_trade_no": order.out_trade_no,
                "recipient_ref": recipient_ref,
                "claimed_at": rfc3339(now),
            }),
        },
    )?;
    Ok(Taken {
        card,
        product_name,
        face_value,
        currency,
        instructions,
        claimed_at: now,
    })
}

/// Why a token did not redeem: unknown (`not_found`), redeemed (`already_claimed`), or ended.
fn why_not(conn: &mut DbConn, hash: &str) -> Error {
    let found: QueryResult<Option<ClaimStatus>> = claims::table
        .filter(claims::token_hash.eq(hash))
        .select(claims::status)
        .first(conn)
        .optional();
    match found {
        Err(e) => e.into(),
        Ok(None) => Error::NotFound("claim"),
        Ok(Some(ClaimStatus::Claimed)) => Error::AlreadyClaimed,
        Ok(Some(ClaimStatus::Revoked)) => {
            Error::WrongState("this gift link was revoked by its buyer".into())
        }
        Ok(Some(_)) => Error::WrongState("this gift link has expired".into()),
    }
}

/// Redeems a gift link: the code once, to the first caller; `already_claimed` after that.
pub async fn redeem(db: &Db, vault: Arc<Vault>, token: String) -> Result<Redeemed> {
    if !well_formed(&token) {
        return Err(Error::NotFound("claim"));
    }
    let hash = token_hash(&token);
    let now = crate::time::now_ms();
    let taken = db.write_async(move |c| take(c, &hash, now)).await?;
    Ok(Redeemed {
        card: inventory::unseal(&vault, &taken.card)?,
        product_name: taken.product_name,
        face_value: taken.face_value,
        currency: taken.currency,
        instructions: taken.instructions,
        claimed_at: rfc3339(taken.claimed_at),
    })
}
