//! `JsonBody<T>`: the JSON body of an admin request, parsed exactly like a signed request's
//! (`auth::signed::parse_json`): the document must be a JSON object — serde would otherwise
//! fill a struct from an array by position (`["Shop", null]` creating a reseller) — and
//! errors are the same problem documents (400 malformed, 422 naming the field, 413 too large).

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::auth::signed::parse_json;
use crate::error::{Error, Result};

pub struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let limit = req
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .map_or(0, |s| s.config.max_body_bytes);
        // Bytes honours the PayloadConfig limit (KAMENG_MAX_BODY_BYTES) set in `api::configure`.
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(Error::BadRequest(
                    "expected Content-Type: application/json".into(),
                ));
            }
            let body = bytes.await.map_err(|e| {
                let status = e.as_response_error().status_code();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::PayloadTooLarge(limit)
                } else {
                    Error::BadRequest(format!("could not read body: {e}"))
                }
            })?;
            parse_json(&body).map(JsonBody)
        })
    }
}
