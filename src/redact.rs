//! Keeps what a client sent out of the error messages sent back (and perhaps logged on the way).
//!
//! serde's messages quote the offending value — `invalid type: integer `110101199003077777`,
//! expected a string` — and a value in the wrong field can be an ID number, a card code or a
//! secret. The client knows what it sent; the message keeps the field, the kind of value and
//! what was expected, and drops the value itself.

/// `msg` with every quoted value that serde's `Unexpected` and `unknown variant` put in it removed.
pub fn serde_message(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    loop {
        let next = MARKERS
            .iter()
            .filter_map(|m| rest.find(m.prefix).map(|at| (at, m)))
            .min_by_key(|(at, _)| *at);
        let Some((at, marker)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        out.push_str(marker.replacement);
        let value = &rest[at + marker.prefix.len()..];
        rest = match marker.close {
            Close::Backtick => skip_backticked(value),
            Close::DebugString => skip_debug_string(value),
        };
    }
}

enum Close {
    /// Up to the closing backtick (for `unknown variant`, the one before `, ...`).
    Backtick,
    /// A Rust `{:?}` string: up to the unescaped closing quote.
    DebugString,
}

struct Marker {
    prefix: &'static str,
    replacement: &'static str,
    close: Close,
}

const MARKERS: &[Marker] = &[
    Marker {
        prefix: "string \"",
        replacement: "string",
        close: Close::DebugString,
    },
    Marker {
        prefix: "integer `",
        replacement: "integer",
        close: Close::Backtick,
    },
    Marker {
        prefix: "floating point `",
        replacement: "floating point number",
        close: Close::Backtick,
    },
    Marker {
        prefix: "boolean `",
        replacement: "boolean",
        close: Close::Backtick,
    },
    Marker {
        prefix: "character `",
        replacement: "character",
        close: Close::Backtick,
    },
    Marker {
        prefix: "unknown variant `",
        replacement: "unknown variant",
        close: Close::Backtick,
    },
];

fn skip_backticked(value: &str) -> &str {
    // A variant name may itself hold a backtick: prefer the one serde puts before its ", ".
    let end = value
        .find("`, ")
        .or_else(|| value.find("` at line"))
        .or_else(|| value.rfind('`'));
    match end {
        Some(i) => &value[i + 1..],
        None => "",
    }
}

fn skip_debug_string(value: &str) -> &str {
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return &value[i + 1..],
            _ => {}
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::serde_message;

    #[test]
    fn values_are_dropped_and_the_rest_kept() {
        for (msg, want) in [
            (
                "invalid type: integer `110101199003077777`, expected a string at line 1 column 40",
                "invalid type: integer, expected a string at line 1 column 40",
            ),
            (
                r#"invalid type: string "CODE-\"x\"-1", expected i64"#,
                "invalid type: string, expected i64",
            ),
            (
                "unknown variant `sk_live_abc`, expected one of `a`, `b`",
                "unknown variant, expected one of `a`, `b`",
            ),
            (
                "invalid value: floating point `1.5`, expected i64",
                "invalid value: floating point number, expected i64",
            ),
            (
                "invalid type: boolean `true`, expected a sequence",
                "invalid type: boolean, expected a sequence",
            ),
            (
                "unknown field `extra`, expected `name`",
                "unknown field `extra`, expected `name`",
            ),
            ("missing field `code`", "missing field `code`"),
            (
                "invalid type: string \"unterminated",
                "invalid type: string",
            ),
        ] {
            assert_eq!(serde_message(msg), want, "{msg}");
        }
    }

    #[test]
    fn real_serde_errors_lose_their_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            n: i64,
            s: String,
        }
        for body in [
            r#"{"n": "SECRET-VALUE-1", "s": "x"}"#,
            r#"{"n": 1, "s": 12345678901}"#,
            r#"{"n": 1.25, "s": true}"#,
        ] {
            let err = serde_json::from_str::<T>(body).unwrap_err().to_string();
            let clean = serde_message(&err);
            for secret in ["SECRET-VALUE-1", "12345678901", "1.25", "true"] {
                assert!(!clean.contains(secret), "{clean}");
            }
        }
    }
}
