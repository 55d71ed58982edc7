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
    #[error("{0}")]
    Conflict(String),
    /// Internal: a concurrent transaction committed the same idempotency key first.
    #[error("a concurrent request with the same key won")]
    RaceLost,
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
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

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

    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } | Error::BadRequest(_) => "invalid_request",
            Error::Unauthorized(_) => "unauthorized",
            Error::Replayed => "replayed_request",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::InsufficientBalance => "insufficient_balance",
            Error::OutOfStock => "out_of_stock",
            Error::ProductUnavailable(_) => "product_unavailable",
            Error::IdempotencyConflict => "idempotency_conflict",
            Error::Conflict(_) | Error::RaceLost => "conflict",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::SpendingLimitExceeded(_) => "spending_limit_exceeded",
            Error::InsufficientScope(_) => "insufficient_scope",
            Error::RateLimited(_) => "rate_limited",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "Invalid request",
            Error::BadRequest(_) => "Malformed request",
            Error::Unauthorized(_) => "Unauthorized",
            Error::Replayed => "Replayed request",
            Error::Forbidden(_) => "Forbidden",
            Error::NotFound(_) => "Not found",
            Error::InsufficientBalance => "Insufficient balance",
            Error::OutOfStock => "Out of stock",
            Error::ProductUnavailable(_) => "Product unavailable",
            Error::IdempotencyConflict => "Idempotency conflict",
            Error::Conflict(_) | Error::RaceLost => "Conflict",
            Error::PayloadTooLarge(_) => "Payload too large",
            Error::SpendingLimitExceeded(_) => "Spending limit exceeded",
            Error::InsufficientScope(_) => "Insufficient scope",
            Error::RateLimited(_) => "Rate limited",
            Error::Unavailable(_) => "Service unavailable",
            Error::Internal(_) => "Internal server error",
        }
    }

    pub fn problem(&self) -> Problem {
        let detail = match self {
            // The cause of an internal failure stays in the log.
            Error::Internal(_) => "an internal error occurred; it has been logged".to_string(),
            Error::Unavailable(_) => "the service is temporarily unavailable".to_string(),
            other => other.to_string(),
        };
        let errors = match self {
            Error::Invalid { errors, .. } => errors.clone(),
            _ => Vec::new(),
        };
        Problem {
            type_: format!("https://kameng.dev/problems/{}", self.code()),
            title: self.title().to_string(),
            status: self.status_code().as_u16(),
            detail,
            code: self.code().to_string(),
            errors,
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) | Error::Replayed => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::SpendingLimitExceeded(_) | Error::InsufficientScope(_) => {
                StatusCode::FORBIDDEN
            }
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::InsufficientBalance => StatusCode::PAYMENT_REQUIRED,
            Error::OutOfStock
            | Error::ProductUnavailable(_)
            | Error::IdempotencyConflict
            | Error::Conflict(_)
            | Error::RaceLost => StatusCode::CONFLICT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Error::Internal(cause) => tracing::error!(%cause, "internal error"),
            Error::Unavailable(cause) => tracing::warn!(%cause, "unavailable"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Error::RateLimited(secs) = self {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
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
                Error::Unavailable(format!("{CONTENTION}: {}", info.message()))
            }
            other => Error::Internal(format!("database: {other}")),
        }
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::Unavailable(format!("database pool: {e}"))
    }
}

/// Prefix of the `Unavailable` cause for a transaction PostgreSQL aborted because of concurrent
/// ones: nothing of it was kept, so running it again is safe.
pub const CONTENTION: &str = "database contention";

impl Error {
    /// A transaction lost to concurrent ones (see [`CONTENTION`]) and may be run again.
    pub fn is_contention(&self) -> bool {
        matches!(self, Error::Unavailable(cause) if cause.starts_with(CONTENTION))
    }
}

/// True when a diesel error is a unique-constraint violation (idempotency and dedup races).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
