//! `Query<T>`: the query string parsed like a body, so an error names its parameter
//! (`?limit=abc` is a 422 with `field: "limit"`, not `field: "query"`). actix's own
//! `web::Query` reports serde_urlencoded's message alone, which names no field.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::auth::signed::field_of;
use crate::error::{Error, Result};

pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Parses a raw query string (without `?`) into `T`.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T> {
    let pairs = form_urlencoded::parse(query.as_bytes());
    let de = serde_urlencoded::Deserializer::new(pairs);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = crate::redact::serde_message(&e.into_inner().to_string());
        Error::invalid(&field_of(&path, &message, "query"), message)
    })
}

/// A `?status=` filter checked against the states that exist, so a typo is a 422 naming the
/// parameter instead of an empty list that looks like "no such orders".
pub fn status_filter(value: Option<String>, known: &[&str]) -> Result<Option<String>> {
    match value {
        Some(v) if !known.contains(&v.as_str()) => Err(Error::invalid(
            "status",
            format!("must be one of {}", known.join(", ")),
        )),
        other => Ok(other),
    }
}

/// The texts of the order states, for [`status_filter`] and the OpenAPI rules.
pub fn order_states() -> Vec<&'static str> {
    crate::domain::states::OrderStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect()
}

/// The texts of the ticket states.
pub fn ticket_states() -> Vec<&'static str> {
    crate::domain::aftersales::tickets::TicketStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect()
}

/// The states of a supplier licence.
pub const LICENCE_STATES: [&str; 3] = ["pending", "approved", "rejected"];

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = Error;
    type Future = std::future::Ready<Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Page {
        #[allow(dead_code)]
        status: Option<String>,
        limit: Option<i64>,
    }

    #[test]
    fn a_bad_parameter_is_named() {
        let Err(Error::Invalid { errors, .. }) = parse_query::<Page>("status=x&limit=abc") else {
            panic!("expected a 422");
        };
        assert_eq!(errors[0].field, "limit");
        assert_eq!(
            parse_query::<Page>("limit=5").map(|p| p.limit).ok(),
            Some(Some(5))
        );
    }
}
