//! Small input checks shared by the domain modules; each failure names its field.

use crate::error::{Error, Result};

pub fn non_empty(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// An absolute http(s) URL without credentials; where it may point is checked at send time.
pub fn callback_url(field: &str, value: &str) -> Result<String> {
    // The URL parser silently drops tabs and line breaks, so `http://a\r\nX: y` would be stored
    // as some other URL than the one sent: refuse it instead (header-injection attempts).
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            field,
            "must not contain whitespace or control characters",
        ));
    }
    let parsed = url::Url::parse(value)
        .map_err(|_| Error::invalid(field, "must be an absolute http(s) URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::invalid(field, "must be an absolute http(s) URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid(field, "must not contain credentials"));
    }
    if value.len() > 2048 {
        return Err(Error::invalid(field, "must be at most 2048 characters"));
    }
    Ok(parsed.to_string())
}

pub fn currency(field: &str, value: &str) -> Result<String> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(value.to_string())
    } else {
        Err(Error::invalid(
            field,
            "must be an ISO 4217 code such as CNY",
        ))
    }
}

pub fn non_negative(field: &str, value: i64) -> Result<i64> {
    if value < 0 {
        Err(Error::invalid(field, "must not be negative"))
    } else {
        Ok(value)
    }
}

/// Page size: default 50, 1..=200.
pub fn limit(value: Option<i64>) -> Result<i64> {
    match value {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid("limit", "must be between 1 and 200")),
    }
}

/// Cursors are opaque to clients: base64url of the last id seen.
pub fn encode_cursor(last: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last)
}

pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>> {
    use base64::Engine;
    match cursor {
        None | Some("") => Ok(None),
        Some(c) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| Error::invalid("cursor", "is not a cursor this API returned")),
    }
}

/// Builds `{data, next_cursor}` from a page fetched with one extra row.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        let next = rows.last().map(|r| encode_cursor(&key(r)));
        (rows, next)
    } else {
        (rows, None)
    }
}
