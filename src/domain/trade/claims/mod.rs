//! Gift links: a card order placed with `"delivery_mode": "claim_links"` hands out one link
//! per card instead of its code, for someone who is not the buyer (a live-stream viewer, an
//! employee, a customer). Whoever holds the link sees the product and redeems the code once.
//!
//! How it fits the order path, and why:
//! - The cards are claimed for the order inside the order transaction exactly as for a code
//!   order (`inventory::claim_cards`): stock, the receipt (hashes of the order's codes) and
//!   the books check work unchanged, and nothing can oversell. The card stays `sold` to the
//!   order while its claim is open; [`issue`] writes one `claims` row per card in the same
//!   transaction. Claim-link orders are never bulk (asynchronous) orders: the links are the
//!   delivery, so there is nothing to unseal after the commit; a receipt over more codes than
//!   the bulk threshold carries a digest instead of a hash per code, like a bulk one.
//! - Token: `Vault::claim_token` = HMAC(key from the master key, claim id), 192 bits, shown to
//!   the buyer; the row stores only its SHA-256 (`token_hash`, unique) for lookup. Derived
//!   rather than stored encrypted, so listing 10,000 links for mailing decrypts nothing and
//!   the database holds nothing that redeems.
//! - Redeem ([`redeem`]): one conditional UPDATE (`unclaimed` → `claimed`, not expired) picks
//!   the winner among concurrent redeemers; only the winner unseals the code.
//! - End ([`end`]): expiry (the sweep) and revocation (the buyer) flip `unclaimed` → `expired`
//!   / `revoked` conditionally, put the card back on sale (its row `available` again, the
//!   stock counter through `trade::pending`), refund one unit through the ledger
//!   (`money::ledger::refund_units`, as ticket refunds do) and enqueue `claim.expired` /
//!   `claim.revoked`. The claim keeps `card_id`, so the books check still finds the codes the
//!   order's receipt names after the card went back to stock (`orders::integrity`).
//! - Unsigned endpoints show the product's name and face value, never the buyer.

mod end;
mod issue;
mod list;
mod redeem;

pub use end::{any_due, expire_due, revoke};
pub use issue::{check_product, issue, validate, DEFAULT_TTL_DAYS, MAX_RECIPIENTS, MAX_TTL_DAYS};
pub use list::{csv_export, for_order, is_claim_order, page, redeemed_summary, ClaimFilter};
pub use redeem::{lookup, redeem, PublicClaim, Redeemed};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::Vault;
use crate::db::schema::claims;
use crate::db::text::text_enum;
use crate::time::rfc3339;

/// How a card order is delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    /// The codes, in the response.
    #[default]
    Codes,
    /// One gift link per card, in the response's `claims`.
    ClaimLinks,
}

/// Someone a gift link is meant for (enterprise welfare: one per employee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// The buyer's own reference for the recipient, unique within the order.
    #[serde(rename = "ref")]
    #[schema(max_length = 128)]
    pub reference: String,
    #[schema(max_length = 128)]
    pub name: Option<String>,
    /// An address or phone number the buyer's system mails the link to.
    #[schema(max_length = 256)]
    pub contact: Option<String>,
}

text_enum! {
    /// Where a gift link stands. Only `unclaimed` changes, once.
    pub enum ClaimStatus {
        Unclaimed = "unclaimed",
        Claimed = "claimed",
        Expired = "expired",
        Revoked = "revoked",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = claims)]
pub struct ClaimRow {
    pub id: String,
    pub order_id: String,
    pub reseller_id: String,
    pub product_id: String,
    pub card_id: i64,
    pub token_hash: String,
    pub status: ClaimStatus,
    pub recipient_ref: Option<String>,
    pub recipient_name: Option<String>,
    pub recipient_contact: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
    pub claimed_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub refund_seq: Option<i64>,
}

/// A gift link as its buyer sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ClaimLink {
    pub claim_id: String,
    /// The bearer credential: whoever holds it may redeem the code.
    pub token: String,
    /// `/v1/claims/{token}`, relative to the API's base URL.
    pub url_path: String,
    pub expires_at: String,
    /// `unclaimed`, `claimed`, `expired` or `revoked`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
}

impl ClaimRow {
    pub fn link(&self, vault: &Vault) -> ClaimLink {
        let token = vault.claim_token(&self.id);
        ClaimLink {
            claim_id: self.id.clone(),
            url_path: format!("/v1/claims/{token}"),
            token,
            expires_at: rfc3339(self.expires_at),
            status: self.status.to_string(),
            claimed_at: self.claimed_at.map(rfc3339),
            recipient: self.recipient_ref.as_ref().map(|r| Recipient {
                reference: r.clone(),
                name: self.recipient_name.clone(),
                contact: self.recipient_contact.clone(),
            }),
        }
    }
}

/// SHA-256 of a token as stored in `claims.token_hash`.
pub fn token_hash(token: &str) -> String {
    crate::crypto::sha256_hex(token.as_bytes())
}
