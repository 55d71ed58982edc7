//! One error type for the whole service. Each variant has a fixed HTTP status and a stable
//! snake_case `code` (SPEC.md's table); it renders as RFC 9457 problem+json. Internal causes are
//! logged with the request id and never sent to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One field-level validation failure.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// RFC 9457 problem document as kameng sends it.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` style tags under `https://kameng.dev/problems/`).
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code; clients branch on this.
    pub code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("this nonce was already used with this key")]
    Replayed,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the balance is too low for this order")]
    InsufficientBalance,
    #[error("not enough stock for the requested quantity")]
    OutOfStock,
    #[error("{0}")]
    ProductUnavailable(String),
    #[error("this out_trade_no was already used with different parameters")]
    IdempotencyConflict,
    /// A gift link redeemed (or revoked after redemption) a second time: the code went to
    /// whoever redeemed it first and is not shown again.
    #[error("this gift link has already been redeemed")]
    AlreadyClaimed,
    #[error("{0}")]
    Conflict(String),
    /// Internal: a concurrent transaction committed the same idempotency key first.
    #[error("a concurrent request with the same key won")]
    RaceLost,
    /// A conditional state change found its row in another state: answered or finished
    /// meanwhile, or never in a state that allows it. Sweeps skip such rows; a client gets the
    /// `conflict` it is.
    #[error("{0}")]
    WrongState(String),
    /// A supplier payout larger than what the supplier is owed.
    #[error("{0}")]
    PayoutExceedsPayable(String),
    /// A deposit past its `expires_at`: never credited.
    #[error("{0}")]
    DepositExpired(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    SpendingLimitExceeded(String),
    #[error("this key lacks the scope `{0}`")]
    InsufficientScope(String),
    #[error("too many requests; retry after {0} s")]
    RateLimited(u64),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A just-in-time product's supplier did not deliver the codes an order needed (failed,
    /// timed out, answered the wrong count or a known code, or is paused by its circuit
    /// breaker). Nothing was charged; the cause goes to the log only.
    #[error("supplier unavailable: {0}")]
    SupplierUnavailable(String),
    /// PostgreSQL gave up on the transaction because of concurrent ones (a deadlock or a
    /// serialization failure): it rolled back entirely, so running it again is safe. A client
    /// sees `unavailable`, which it may retry as well.
    #[error("service unavailable: database contention: {0}")]
    Contention(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a client sees of an error besides its detail; each variant's is stated once, in
/// [`Error::rendering`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rendering {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    /// Sent as the detail instead of the error's message, which then goes to the log only.
    public_detail: Option<&'static str>,
}

/// A rendering whose detail is the error's message.
const fn shown(status: StatusCode, code: &'static str, title: &'static str) -> Rendering {
    Rendering {
        status,
        code,
        title,
        public_detail: None,
    }
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Error::Invalid {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    /// Status, code and title of every variant, in one table. Variants that share an arm render
    /// alike: the internal race signals as the conflict they are to a client, contention as the
    /// transient unavailability it is.
    fn rendering(&self) -> Rendering {
        use StatusCode as S;
        match self {
            Error::Invalid { .. } => shown(
                S::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "Invalid request",
            ),
            Error::BadRequest(_) => shown(S::BAD_REQUEST, "invalid_request", "Malformed request"),
            Error::Unauthorized(_) => shown(S::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Error::Replayed => shown(S::UNAUTHORIZED, "replayed_request", "Replayed request"),
            Error::Forbidden(_) => shown(S::FORBIDDEN, "forbidden", "Forbidden"),
            Error::NotFound(_) => shown(S::NOT_FOUND, "not_found", "Not found"),
            Error::InsufficientBalance => shown(
                S::PAYMENT_REQUIRED,
                "insufficient_balance",
                "Insufficient balance",
            ),
            Error::OutOfStock => shown(S::CONFLICT, "out_of_stock", "Out of stock"),
            Error::ProductUnavailable(_) => {
                shown(S::CONFLICT, "product_unavailable", "Product unavailable")
            }
            Error::IdempotencyConflict => {
                shown(S::CONFLICT, "idempotency_conflict", "Idempotency conflict")
            }
            Error::AlreadyClaimed => shown(S::CONFLICT, "already_claimed", "Already claimed"),
            Error::Conflict(_) | Error::RaceLost | Error::WrongState(_) => {
                shown(S::CONFLICT, "conflict", "Conflict")
            }
            Error::PayoutExceedsPayable(_) => shown(
                S::CONFLICT,
                "payout_exceeds_payable",
                "Payout exceeds payable",
            ),
            Error::DepositExpired(_) => shown(S::CONFLICT, "deposit_expired", "Deposit expired"),
            Error::PayloadTooLarge(_) => shown(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
            ),
            Error::SpendingLimitExceeded(_) => shown(
                S::FORBIDDEN,
                "spending_limit_exceeded",
                "Spending limit exceeded",
            ),
            Error::InsufficientScope(_) => {
                shown(S::FORBIDDEN, "insufficient_scope", "Insufficient scope")
            }
            Error::RateLimited(_) => shown(S::TOO_MANY_REQUESTS, "rate_limited", "Rate limited"),
            Error::Unavailable(_) | Error::Contention(_) => Rendering {
                public_detail: Some("the service is temporarily unavailable"),
                ..shown(S::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable")
            },
            Error::SupplierUnavailable(_) => Rendering {
                public_detail: Some(
                    "the supplier could not deliver this product's codes now; nothing was charged",
                ),
                ..shown(
                    S::SERVICE_UNAVAILABLE,
                    "supplier_unavailable",
                    "Supplier unavailable",
                )
            },
            // The cause of an internal failure stays in the log.
            Error::Internal(_) => Rendering {
                public_detail: Some("an internal error occurred; it has been logged"),
                ..shown(
                    S::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Internal server error",
                )
            },
        }
    }

    pub fn code(&self) -> &'static str {
        self.rendering().code
    }

    pub fn problem(&self) -> Problem {
        let r = self.rendering();
        let errors = match self {
            Error::Invalid { errors, .. } => errors.clone(),
            _ => Vec::new(),
        };
        Problem {
            type_: format!("https://kameng.dev/problems/{}", r.code),
            title: r.title.to_string(),
            status: r.status.as_u16(),
            detail: r
                .public_detail
                .map_or_else(|| self.to_string(), str::to_string),
            code: r.code.to_string(),
            errors,
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.rendering().status
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Error::Internal(cause) => tracing::error!(%cause, "internal error"),
            Error::Unavailable(cause) => tracing::warn!(%cause, "unavailable"),
            Error::Contention(cause) => tracing::warn!(%cause, "unavailable: database contention"),
            Error::SupplierUnavailable(cause) => tracing::warn!(%cause, "supplier unavailable"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            Error::RateLimited(secs) => {
                res.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            // Nothing was changed, and the same request (same out_trade_no) is safe to repeat.
            Error::Unavailable(_) | Error::Contention(_) | Error::SupplierUnavailable(_) => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as De};
        match e {
            De::NotFound => Error::NotFound("object"),
            // PostgreSQL gave up on this transaction because of concurrent ones (a deadlock,
            // 40P01, or a serialization failure); it rolled back entirely and may be retried.
            De::DatabaseError(kind, ref info)
                if matches!(kind, DatabaseErrorKind::SerializationFailure)
                    || info.message().starts_with("deadlock detected") =>
            {
                Error::Contention(info.message().to_string())
            }
            // The database went away under the request (a restart, a failover, a dropped
            // connection): its transaction did not commit, or — lost with the reply — did and
            // is found again by a retry's idempotency check. Either way a retry is right.
            De::DatabaseError(kind, ref info)
                if matches!(kind, DatabaseErrorKind::ClosedConnection)
                    || connection_lost(info.message()) =>
            {
                Error::Unavailable(format!("database connection lost: {}", info.message()))
            }
            De::BrokenTransactionManager => {
                Error::Unavailable("database connection lost mid-transaction".into())
            }
            De::RollbackErrorOnCommit { .. } => {
                Error::Unavailable(format!("database: the commit did not complete: {e}"))
            }
            other => Error::Internal(format!("database: {other}")),
        }
    }
}

/// Messages of a database that is gone or going, rather than of a bad query: PostgreSQL's
/// shutdown and restart (57P01–57P03), libpq's lost socket, SQLite still locked after its
/// busy timeout.
fn connection_lost(message: &str) -> bool {
    const GONE: [&str; 9] = [
        "terminating connection",
        "server closed the connection",
        "no connection to the server",
        "could not receive data from server",
        "could not send data to server",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "database is locked",
    ];
    GONE.iter().any(|g| message.contains(g))
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::Unavailable(format!("database pool: {e}"))
    }
}

/// True when a diesel error is a unique-constraint violation (idempotency and dedup races).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A failed INSERT as the caller sees it: a unique-constraint violation means a concurrent
/// request with the same key committed first ([`Error::RaceLost`]); anything else as usual.
pub fn race_on_unique(e: diesel::result::Error) -> Error {
    if is_unique_violation(&e) {
        Error::RaceLost
    } else {
        e.into()
    }
}

#[cfg(test)]
mod tests;
