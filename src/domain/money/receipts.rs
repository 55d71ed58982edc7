//! Delivery receipts: an EdDSA (Ed25519) JWT per order naming the order, product, amount and the
//! SHA-256 of each delivered code, verifiable offline with the keys at `/.well-known/jwks.json`.
//! The signing key is generated once, stored encrypted in the database, and so shared by every
//! instance that shares the master key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use diesel::prelude::*;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::Signer;
use ed25519_dalek::SigningKey;
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::Vault;
use crate::db::schema::signing_keys;
use crate::db::DbConn;
use crate::error::{Error, Result};

pub const ISSUER: &str = "kameng";

/// The claims of an order receipt.
///
/// A receipt names each delivered code by its SHA-256 in `codes`, except for bulk orders: an
/// order of more codes than `KAMENG_BULK_ASYNC_THRESHOLD` (default 500) is delivered
/// asynchronously, and listing up to 10,000 hashes would make a ~700 KB token. Its receipt has
/// `codes` empty and `codes_digest` instead, one hash over the ordered list (see
/// [`codes_digest`]); a verifier pages the codes from `GET /v1/orders/{id}/cards`, which returns
/// them in delivery order, and recomputes it. `quantity` says how many codes the digest covers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReceiptClaims {
    pub iss: String,
    /// The order id.
    pub sub: String,
    pub reseller_id: String,
    pub product_id: String,
    pub quantity: i64,
    pub amount: i64,
    pub currency: String,
    pub iat: i64,
    /// Lowercase hex SHA-256 of each delivered code, in delivery order. Empty for bulk orders
    /// (see `codes_digest`) and direct top-ups.
    pub codes: Vec<String>,
    /// Bulk orders only: lowercase hex SHA-256 of the concatenation, in delivery order, of each
    /// code's lowercase hex SHA-256 followed by a line feed, i.e.
    /// `sha256(hex(sha256(code_1)) + "\n" + … + hex(sha256(code_n)) + "\n")`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes_digest: Option<String>,
}

/// The `codes_digest` of a receipt, from the delivered codes in delivery order.
pub fn codes_digest<'a>(codes: impl IntoIterator<Item = &'a str>) -> String {
    digest_of_code_hashes(
        codes
            .into_iter()
            .map(|code| crate::crypto::sha256_hex(code.as_bytes())),
    )
}

/// [`codes_digest`] from the codes' hex SHA-256s, for a verifier that holds only those.
pub fn digest_of_code_hashes(hashes: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut list = String::new();
    for hash in hashes {
        list.push_str(hash.as_ref());
        list.push('\n');
    }
    crate::crypto::sha256_hex(list.as_bytes())
}

/// One JSON Web Key (OKP / Ed25519).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// Signs receipts. The JWS is assembled here around ed25519-dalek's signature with a key parsed
/// once at start (jsonwebtoken re-parses the PKCS#8 key pair on every call, which doubled the
/// cost on the order path); verification uses jsonwebtoken, so the tests prove the two agree.
pub struct ReceiptSigner {
    key: SigningKey,
    /// base64url of the JOSE header, the same for every receipt.
    header_b64: String,
    jwks: Jwks,
}

impl ReceiptSigner {
    pub fn load_or_create(conn: &mut DbConn, vault: &Vault) -> Result<ReceiptSigner> {
        let rows: Vec<(String, String, String, bool)> = signing_keys::table
            .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
            .select((
                signing_keys::kid,
                signing_keys::private_enc,
                signing_keys::public_key,
                signing_keys::active,
            ))
            .load(conn)?;
        let rows = if rows.iter().any(|r| r.3) {
            rows
        } else {
            let sk = SigningKey::generate(&mut rand::rngs::OsRng);
            let der = sk
                .to_pkcs8_der()
                .map_err(|e| Error::internal(format!("pkcs8: {e}")))?;
            let kid = crate::ids::new_id("rk");
            let public = B64URL.encode(sk.verifying_key().as_bytes());
            let private_enc = vault.encrypt(der.as_bytes());
            diesel::insert_into(signing_keys::table)
                .values((
                    signing_keys::kid.eq(&kid),
                    signing_keys::private_enc.eq(&private_enc),
                    signing_keys::public_key.eq(&public),
                    signing_keys::active.eq(true),
                    signing_keys::created_at.eq(crate::time::now_ms()),
                ))
                .execute(conn)?;
            vec![(kid, private_enc, public, true)]
        };
        let (kid, private_enc, _, _) = rows
            .iter()
            .find(|r| r.3)
            .cloned()
            .ok_or_else(|| Error::internal("no active receipt key"))?;
        let der = vault.decrypt(&private_enc)?;
        let jwks = Jwks {
            keys: rows
                .iter()
                .map(|(kid, _, x, _)| Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: x.clone(),
                    kid: kid.clone(),
                    alg: "EdDSA".into(),
                    use_: "sig".into(),
                })
                .collect(),
        };
        let key = SigningKey::from_pkcs8_der(&der)
            .map_err(|e| Error::internal(format!("receipt key: {e}")))?;
        let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid });
        Ok(ReceiptSigner {
            key,
            header_b64: B64URL.encode(header.to_string()),
            jwks,
        })
    }

    pub fn sign(&self, claims: &ReceiptClaims) -> Result<String> {
        let payload =
            serde_json::to_vec(claims).map_err(|e| Error::internal(format!("receipt: {e}")))?;
        let signing_input = format!("{}.{}", self.header_b64, B64URL.encode(payload));
        let signature = self.key.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            B64URL.encode(signature.to_bytes())
        ))
    }

    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }
}

/// Verifies a receipt against a JWKS; returns its claims. Used by clients and tests.
pub fn verify_receipt(token: &str, jwks: &Jwks) -> Result<ReceiptClaims> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| Error::Unauthorized(format!("receipt header: {e}")))?;
    let kid = header
        .kid
        .ok_or_else(|| Error::Unauthorized("receipt has no kid".into()))?;
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| Error::Unauthorized("unknown receipt key".into()))?;
    let key = jsonwebtoken::DecodingKey::from_ed_components(&jwk.x)
        .map_err(|e| Error::Unauthorized(format!("jwk: {e}")))?;
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[ISSUER]);
    jsonwebtoken::decode::<ReceiptClaims>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| Error::Unauthorized(format!("receipt: {e}")))
}
