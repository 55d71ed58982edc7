//! Property tests: the request and event signing helpers, and every JSON request body type
//! through `parse_json`, on arbitrary bytes and arbitrary JSON. Nothing may panic; a body that
//! does not parse is always `invalid_request`. Case counts are fixed and the seed is fixed, so a
//! run takes seconds and a failure repeats (`PROPTEST_CASES` raises the count locally).

use kameng::auth::signed::parse_json;
use kameng::auth::signing::{
    sign_event, sign_request, string_to_sign, valid_nonce, verify_event_signature,
    verify_request_signature,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use serde_json::{Map, Value};

fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x6b61_6d65_6e67),
        ..Config::default()
    }
}

/// Calls `$check::<T>()` for every request body type; [`every_body_type_is_covered`] keeps
/// the list complete against the OpenAPI document.
macro_rules! body_types {
    ($check:ident, $input:expr) => {{
        use kameng::api::admin::{auth, catalog as admin_catalog, resellers};
        use kameng::domain::accounts::{self, keys, kyc, licences, network as sub_resellers};
        use kameng::domain::aftersales::tickets;
        use kameng::domain::trade::pricing::markups as network;
        use kameng::domain::trade::{catalog, inventory, orders};
        let input = $input;
        $check::<orders::OrderRequest>("OrderRequest", input);
        $check::<inventory::PushCards>("PushCards", input);
        $check::<catalog::NewProduct>("NewProduct", input);
        $check::<catalog::ProductPatch>("ProductPatch", input);
        $check::<catalog::CategoryPatch>("CategoryPatch", input);
        $check::<kameng::api::supplier::SupplierProductPatch>("SupplierProductPatch", input);
        $check::<kameng::domain::trade::fulfilment::FulfilmentSettings>(
            "FulfilmentSettings",
            input,
        );
        $check::<kameng::api::topups::TopupResult>("TopupResult", input);
        $check::<keys::NewKey>("NewKey", input);
        $check::<kyc::KycRequest>("KycRequest", input);
        $check::<kyc::KycDecision>("KycDecision", input);
        $check::<licences::NewLicence>("NewLicence", input);
        $check::<licences::LicenceReview>("LicenceReview", input);
        $check::<network::Markups>("Markups", input);
        $check::<sub_resellers::NewSubReseller>("NewSubReseller", input);
        $check::<sub_resellers::TransferRequest>("TransferRequest", input);
        $check::<tickets::NewTicket>("NewTicket", input);
        $check::<tickets::SupplierResponse>("SupplierResponse", input);
        $check::<tickets::TicketDecision>("TicketDecision", input);
        $check::<accounts::ResellerPatch>("ResellerPatch", input);
        $check::<accounts::SupplierPatch>("SupplierPatch", input);
        $check::<auth::LoginRequest>("LoginRequest", input);
        $check::<admin_catalog::LevelRequest>("LevelRequest", input);
        $check::<accounts::NewReseller>("NewReseller", input);
        $check::<accounts::webhooks::EndpointUpdate>("EndpointUpdate", input);
        $check::<accounts::webhooks::SecretRotation>("SecretRotation", input);
        $check::<resellers::CreditRequest>("CreditRequest", input);
        $check::<resellers::PriceRequest>("PriceRequest", input);
        $check::<accounts::NewSupplier>("NewSupplier", input);
        $check::<kameng::domain::support::SupportMessage>("SupportMessage", input);
        $check::<accounts::deposits::NewDeposit>("NewDeposit", input);
        $check::<accounts::deposits::PaymentCallback>("PaymentCallback", input);
        $check::<accounts::settlement::NewPayout>("NewPayout", input);
        $check::<kameng::api::admin::deposits::ConfirmDeposit>("ConfirmDeposit", input);
    }};
}

/// Parses `body` as `T`: either it parses, or the error is `invalid_request` (400/422).
fn parses_or_invalid<T: serde::de::DeserializeOwned>(name: &str, body: &[u8]) {
    if let Err(e) = parse_json::<T>(body) {
        assert_eq!(e.code(), "invalid_request", "{name}: {e}");
        let status = actix_web::ResponseError::status_code(&e).as_u16();
        assert!(status == 400 || status == 422, "{name}: {status}");
    }
}

/// Records the type's name (the macro calls every check with the type as a parameter).
fn name_of<T: serde::de::DeserializeOwned>(name: &str, out: &std::cell::RefCell<Vec<String>>) {
    let _: fn(&[u8]) -> kameng::error::Result<T> = parse_json::<T>;
    out.borrow_mut().push(name.to_string());
}

/// Field names of every request body, so generated objects often hit real fields.
fn field_names() -> Vec<String> {
    let spec = kameng::api::openapi::spec_json();
    let spec: Value = serde_json::from_str(&spec).unwrap();
    let mut out: Vec<String> = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(props)) = m.get("properties") {
                    out.extend(props.keys().cloned());
                }
                m.values().for_each(|v| walk(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&spec["components"]["schemas"], &mut out);
    out.sort();
    out.dedup();
    out
}

fn json_value(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        Just(Value::from(i64::MIN)),
        Just(Value::from(u64::MAX)),
        ".{0,24}".prop_map(Value::from),
        "[a-z_]{1,12}".prop_map(Value::from),
        "(on_sale|off_sale|card|direct|success|failed|refund|replace|contest|reject|verified|rejected|approved|invalid_code|catalog:read|orders:write)"
            .prop_map(Value::from),
    ];
    let key = prop_oneof![3 => proptest::sample::select(keys), 1 => ".{0,12}"];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

#[test]
fn every_body_type_is_covered() {
    let covered = std::cell::RefCell::new(Vec::new());
    body_types!(name_of, &covered);
    let covered = covered.into_inner();
    let spec: Value = serde_json::from_str(&kameng::api::openapi::spec_json()).unwrap();
    let mut missing = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"]["$ref"];
            if let Some(r) = schema.as_str() {
                let name = r.rsplit('/').next().unwrap().to_string();
                if !covered.contains(&name) && !missing.contains(&name) {
                    missing.push(name);
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "request bodies without a property test (add them to `body_types!`): {missing:?}"
    );
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        body_types!(parses_or_invalid, &body[..]);
    }

    #[test]
    fn arbitrary_text_never_panics(body in "\\PC{0,128}") {
        body_types!(parses_or_invalid, body.as_bytes());
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn arbitrary_json_never_panics(value in json_value(field_names())) {
        let body = serde_json::to_vec(&value).unwrap();
        body_types!(parses_or_invalid, &body[..]);
    }
}

fn nonce_reference(s: &str) -> bool {
    (8..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn valid_nonce_matches_the_contract(s in prop_oneof!["[A-Za-z0-9_-]{0,70}", "\\PC{0,70}", ".{0,70}"]) {
        prop_assert_eq!(valid_nonce(&s), nonce_reference(&s));
    }

    #[test]
    fn request_signatures_round_trip_and_detect_changes(
        secret in ".{0,40}",
        method in "[A-Za-z]{1,8}",
        path in "/[ -~]{0,40}",
        query in "[ -~]{0,40}",
        ts in "[0-9]{1,12}",
        nonce in "[A-Za-z0-9_-]{8,64}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
        flip in any::<proptest::sample::Index>(),
    ) {
        let sts = string_to_sign(&method, &path, &query, &ts, &nonce, &body);
        let lines: Vec<&str> = sts.split('\n').collect();
        prop_assert_eq!(lines.len(), 6);
        prop_assert_eq!(lines[0], method.to_ascii_uppercase());
        let digest = lines.last().unwrap();
        prop_assert!(digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        let sig = sign_request(&secret, &method, &path, &query, &ts, &nonce, &body);
        prop_assert!(verify_request_signature(secret.as_bytes(), &sts, &sig));
        prop_assert!(verify_request_signature(secret.as_bytes(), &sts, &sig.to_ascii_uppercase()));
        // Any one hex digit changed, or the string to sign changed, fails.
        let i = flip.index(sig.len());
        let mut bad = sig.clone().into_bytes();
        bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
        let bad = String::from_utf8(bad).unwrap();
        prop_assert!(!verify_request_signature(secret.as_bytes(), &sts, &bad));
        let longer = format!("{}x", sts);
        prop_assert!(!verify_request_signature(secret.as_bytes(), &longer, &sig));
        prop_assert!(!verify_request_signature(secret.as_bytes(), &sts, &sig[..62]));
    }

    #[test]
    fn arbitrary_signature_headers_never_verify_or_panic(
        secret in ".{0,40}",
        header in prop_oneof![
            "\\PC{0,120}",
            "t=[0-9-]{0,20},v1=[0-9a-fA-F]{0,70}",
            "(t=[^,]{0,12}|v1=[^,]{0,70}|[a-z0-9]{0,3}=?[^,]{0,8})(,[ ]?(t=[^,]{0,12}|v1=[^,]{0,70})){0,4}",
        ],
        request_sig in "\\PC{0,80}",
        body in proptest::collection::vec(any::<u8>(), 0..100),
        now in any::<i64>(),
        tolerance in proptest::option::of(any::<i64>()),
    ) {
        prop_assert!(!verify_event_signature(&secret, &header, &body, now, tolerance));
        prop_assert!(!verify_request_signature(secret.as_bytes(), "x", &request_sig));
    }

    #[test]
    fn event_signatures_round_trip(
        secret in ".{0,40}",
        t in 0i64..4_000_000_000,
        skew in -1000i64..1000,
        body in proptest::collection::vec(any::<u8>(), 0..200),
        junk in "[a-z0-9=]{0,20}",
    ) {
        let header = sign_event(&secret, t, &body);
        prop_assert!(verify_event_signature(&secret, &header, &body, t + skew, Some(1000)));
        prop_assert!(verify_event_signature(&secret, &header, &body, 0, None));
        // Extra parts and a second, wrong v1 do not matter; a stale t, a changed body or
        // another secret do.
        let padded = format!("{junk},v1=00,{header}, v0=ff");
        prop_assert!(verify_event_signature(&secret, &padded, &body, t, Some(0)));
        prop_assert!(!verify_event_signature(&secret, &header, &body, t + 301, Some(300)));
        let mut other = body.clone();
        other.push(b'x');
        prop_assert!(!verify_event_signature(&secret, &header, &other, t, None));
        let other_secret = format!("{}x", secret);
        prop_assert!(!verify_event_signature(&other_secret, &header, &body, t, None));
    }
}
