//! The request and webhook signing schemes of SPEC.md, shared by the server, the typed client,
//! the examples and the tests so that there is exactly one implementation of each.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub const HEADER_KEY: &str = "X-Kameng-Key";
pub const HEADER_TIMESTAMP: &str = "X-Kameng-Timestamp";
pub const HEADER_NONCE: &str = "X-Kameng-Nonce";
pub const HEADER_SIGNATURE: &str = "X-Kameng-Signature";
pub const HEADER_EVENT_ID: &str = "X-Kameng-Event-Id";
pub const HEADER_EVENT: &str = "X-Kameng-Event";

/// `METHOD\nPATH\nQUERY\nTIMESTAMP\nNONCE\nhex(sha256(body))`
pub fn string_to_sign(
    method: &str,
    path: &str,
    query: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        query,
        timestamp,
        nonce,
        hex::encode(Sha256::digest(body))
    )
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    HmacSha256::new_from_slice(secret).expect("hmac key of any length")
}

/// Lowercase hex HMAC-SHA256 of a request's string to sign.
pub fn sign_request(
    secret: &str,
    method: &str,
    path: &str,
    query: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let mut m = mac(secret.as_bytes());
    m.update(string_to_sign(method, path, query, timestamp, nonce, body).as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Constant-time check of a request signature (hex, case-insensitive).
pub fn verify_request_signature(secret: &[u8], string_to_sign: &str, signature_hex: &str) -> bool {
    let Ok(sig) = hex::decode(signature_hex) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(string_to_sign.as_bytes());
    m.verify_slice(&sig).is_ok()
}

/// `X-Kameng-Signature` value of an outbound event: `t=<ts>,v1=<hex hmac(secret, t + "." + body)>`.
pub fn sign_event(webhook_secret: &str, timestamp: i64, body: &[u8]) -> String {
    sign_event_with_all(&[webhook_secret], timestamp, body)
}

/// The header while a rotated secret overlaps the new one: one `v1=` per secret, newest first
/// (`t=<ts>,v1=<new>,v1=<old>`), as Stripe does, so a receiver holding either secret verifies.
/// With one secret it is exactly [`sign_event`]'s header.
pub fn sign_event_with_all(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&event_mac_hex(secret.as_bytes(), timestamp, body));
    }
    header
}

fn event_mac_hex(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// Verifies an event signature header; `tolerance_secs` bounds how old `t` may be relative to
/// `now` (pass `None` to skip the freshness check, e.g. for test vectors).
pub fn verify_event_signature(
    webhook_secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: Option<i64>,
) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if let Some(tol) = tolerance_secs {
        if (now - t).abs() > tol {
            return false;
        }
    }
    sigs.iter().any(|sig| {
        let Ok(sig) = hex::decode(sig) else {
            return false;
        };
        let mut m = mac(webhook_secret.as_bytes());
        m.update(t.to_string().as_bytes());
        m.update(b".");
        m.update(body);
        m.verify_slice(&sig).is_ok()
    })
}

/// Nonces are 8..64 characters of `[A-Za-z0-9_-]`.
pub fn valid_nonce(nonce: &str) -> bool {
    (8..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vectors() {
        let body = br#"{"product_id":"prd_01","quantity":1,"out_trade_no":"T1001"}"#;
        assert_eq!(
            hex::encode(Sha256::digest(body)),
            "cf689540e532f161e7e19464f927f05bdab45b2810ac5388792eaa9472be0712"
        );
        let s = sign_request(
            "sk_test_5f2a9c1e7b3d4f60",
            "POST",
            "/v1/orders",
            "",
            "1767225600",
            "n0nce-0001",
            body,
        );
        assert_eq!(
            s,
            "1d03bb7cc72dcc2cc4fb47298867269224f95cb782af0bcbd6ea66c598dff0ff"
        );
        let s = sign_request(
            "sk_test_5f2a9c1e7b3d4f60",
            "GET",
            "/v1/products",
            "category=steam&limit=2",
            "1767225600",
            "n0nce-0002",
            b"",
        );
        assert_eq!(
            s,
            "46a46383746f10f39794421db9b1c5af0229f06231a19e66d470cda9dc458f3c"
        );
        let ev = br#"{"id":"evt_01","type":"order.delivered","created_at":"2026-01-01T00:00:00Z","data":{"order_id":"ord_01"}}"#;
        let h = sign_event("whsec_test_8d1c", 1767225600, ev);
        assert_eq!(
            h,
            "t=1767225600,v1=f550b86bf76e682a9ac6df3d9693ecd802c7489bfeace54757d4d36590b0d4f8"
        );
        assert!(verify_event_signature("whsec_test_8d1c", &h, ev, 0, None));
        assert!(!verify_event_signature(
            "whsec_test_8d1c",
            &h,
            b"{}",
            0,
            None
        ));
    }

    /// During a rotation's overlap the header carries the new secret's `v1=` first, then the
    /// old one's; each verifies on its own, and a single secret gives the SPEC header unchanged.
    #[test]
    fn overlapping_secrets_sign_newest_first() {
        let ev = br#"{"id":"evt_01","type":"order.delivered","created_at":"2026-01-01T00:00:00Z","data":{"order_id":"ord_01"}}"#;
        let old =
            "t=1767225600,v1=f550b86bf76e682a9ac6df3d9693ecd802c7489bfeace54757d4d36590b0d4f8";
        assert_eq!(
            sign_event_with_all(&["whsec_test_8d1c"], 1767225600, ev),
            old
        );
        let both = sign_event_with_all(&["whsec_new", "whsec_test_8d1c"], 1767225600, ev);
        let parts: Vec<&str> = both.split(',').collect();
        assert_eq!(parts.len(), 3, "{both}");
        assert_eq!(parts[0], "t=1767225600");
        assert_eq!(
            parts[1],
            sign_event("whsec_new", 1767225600, ev)
                .split(',')
                .nth(1)
                .unwrap()
        );
        assert_eq!(format!("{},{}", parts[0], parts[2]), old);
        for secret in ["whsec_new", "whsec_test_8d1c"] {
            assert!(verify_event_signature(secret, &both, ev, 0, None));
        }
        assert!(!verify_event_signature("whsec_other", &both, ev, 0, None));
    }
}
