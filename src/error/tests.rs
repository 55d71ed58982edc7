//! The rendering of every error variant, pinned.

use super::*;

/// Every variant's status, code, title and public detail, as the three match tables this
/// replaced rendered them; a change here is a change of the public contract.
#[test]
fn every_variant_renders_as_before() {
    let s = |x: &str| x.to_string();
    let cases: Vec<(Error, u16, &str, &str, &str)> = vec![
        (
            Error::invalid("f", "bad"),
            422,
            "invalid_request",
            "Invalid request",
            "f: bad",
        ),
        (
            Error::BadRequest(s("b")),
            400,
            "invalid_request",
            "Malformed request",
            "b",
        ),
        (
            Error::Unauthorized(s("u")),
            401,
            "unauthorized",
            "Unauthorized",
            "u",
        ),
        (
            Error::Replayed,
            401,
            "replayed_request",
            "Replayed request",
            "this nonce was already used with this key",
        ),
        (Error::Forbidden(s("f")), 403, "forbidden", "Forbidden", "f"),
        (
            Error::NotFound("order"),
            404,
            "not_found",
            "Not found",
            "order not found",
        ),
        (
            Error::InsufficientBalance,
            402,
            "insufficient_balance",
            "Insufficient balance",
            "the balance is too low for this order",
        ),
        (
            Error::OutOfStock,
            409,
            "out_of_stock",
            "Out of stock",
            "not enough stock for the requested quantity",
        ),
        (
            Error::ProductUnavailable(s("p")),
            409,
            "product_unavailable",
            "Product unavailable",
            "p",
        ),
        (
            Error::IdempotencyConflict,
            409,
            "idempotency_conflict",
            "Idempotency conflict",
            "this out_trade_no was already used with different parameters",
        ),
        (
            Error::AlreadyClaimed,
            409,
            "already_claimed",
            "Already claimed",
            "this gift link has already been redeemed",
        ),
        (Error::Conflict(s("c")), 409, "conflict", "Conflict", "c"),
        (
            Error::RaceLost,
            409,
            "conflict",
            "Conflict",
            "a concurrent request with the same key won",
        ),
        (Error::WrongState(s("w")), 409, "conflict", "Conflict", "w"),
        (
            Error::PayoutExceedsPayable(s("x")),
            409,
            "payout_exceeds_payable",
            "Payout exceeds payable",
            "x",
        ),
        (
            Error::DepositExpired(s("e")),
            409,
            "deposit_expired",
            "Deposit expired",
            "e",
        ),
        (
            Error::PayloadTooLarge(10),
            413,
            "payload_too_large",
            "Payload too large",
            "request body is larger than 10 bytes",
        ),
        (
            Error::SpendingLimitExceeded(s("l")),
            403,
            "spending_limit_exceeded",
            "Spending limit exceeded",
            "l",
        ),
        (
            Error::InsufficientScope(s("orders:write")),
            403,
            "insufficient_scope",
            "Insufficient scope",
            "this key lacks the scope `orders:write`",
        ),
        (
            Error::RateLimited(3),
            429,
            "rate_limited",
            "Rate limited",
            "too many requests; retry after 3 s",
        ),
        (
            Error::Unavailable(s("pool")),
            503,
            "unavailable",
            "Service unavailable",
            "the service is temporarily unavailable",
        ),
        (
            Error::Contention(s("deadlock detected")),
            503,
            "unavailable",
            "Service unavailable",
            "the service is temporarily unavailable",
        ),
        (
            Error::SupplierUnavailable(s("timed out")),
            503,
            "supplier_unavailable",
            "Supplier unavailable",
            "the supplier could not deliver this product's codes now; nothing was charged",
        ),
        (
            Error::internal("boom"),
            500,
            "internal_error",
            "Internal server error",
            "an internal error occurred; it has been logged",
        ),
    ];
    for (e, status, code, title, detail) in cases {
        let p = e.problem();
        assert_eq!(
            (
                p.status,
                p.code.as_str(),
                p.title.as_str(),
                p.detail.as_str()
            ),
            (status, code, title, detail),
            "{e:?}"
        );
        assert_eq!(e.status_code().as_u16(), status, "{e:?}");
        assert_eq!(e.code(), code, "{e:?}");
        assert_eq!(p.type_, format!("https://kameng.dev/problems/{code}"));
    }
}

#[test]
fn contention_renders_exactly_like_unavailable() {
    let contention = Error::Contention("deadlock detected".into()).problem();
    let unavailable = Error::Unavailable("database pool: timed out".into()).problem();
    assert_eq!(
        serde_json::to_value(&contention).ok(),
        serde_json::to_value(&unavailable).ok()
    );
}

#[test]
fn only_invalid_lists_field_errors() {
    assert_eq!(
        Error::invalid("f", "bad").problem().errors,
        vec![FieldError::new("f", "bad")]
    );
    assert!(Error::Conflict("c".into()).problem().errors.is_empty());
}

/// A database error as PostgreSQL would report it.
fn db_error(kind: diesel::result::DatabaseErrorKind, message: &str) -> diesel::result::Error {
    diesel::result::Error::DatabaseError(kind, Box::new(message.to_string()))
}

#[test]
fn concurrency_aborts_are_contention_and_other_failures_internal() {
    use diesel::result::DatabaseErrorKind as K;
    let serialization = db_error(K::SerializationFailure, "could not serialize access");
    assert!(matches!(Error::from(serialization), Error::Contention(_)));
    let deadlock = db_error(K::Unknown, "deadlock detected");
    assert!(matches!(Error::from(deadlock), Error::Contention(m) if m == "deadlock detected"));
    let other = db_error(K::Unknown, "disk full");
    assert!(matches!(Error::from(other), Error::Internal(_)));
}

#[test]
fn a_database_that_went_away_is_unavailable_with_retry_after() {
    use diesel::result::DatabaseErrorKind as K;
    for (kind, message) in [
        (
            K::Unknown,
            "terminating connection due to administrator command",
        ),
        (
            K::ClosedConnection,
            "server closed the connection unexpectedly",
        ),
        (K::Unknown, "the database system is shutting down"),
        (K::Unknown, "database is locked"),
    ] {
        let e = Error::from(db_error(kind, message));
        assert!(matches!(e, Error::Unavailable(_)), "{message}: {e:?}");
        let res = e.error_response();
        assert_eq!(res.status(), 503);
        assert_eq!(
            res.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }
    assert!(matches!(
        Error::from(diesel::result::Error::BrokenTransactionManager),
        Error::Unavailable(_)
    ));
}
