//! A just-in-time supplier for tests: answers fulfilment requests the way it is told to
//! (issue codes, slowly, with an HTTP error, the wrong count, a code kameng knows), returns the
//! same cards for a repeated `request_id`, checks kameng's signature and records every call.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Issue fresh codes at once.
    Issue,
    /// Issue after this long.
    Slow(Duration),
    /// Answer with this HTTP status and no cards.
    Status(u16),
    /// One card fewer than asked.
    WrongCount,
    /// The first card's code replaced by this one.
    Known(String),
}

#[derive(Debug, Clone)]
pub struct Call {
    pub request_id: String,
    pub body: Value,
    /// Whether `X-Kameng-Signature` verified with the supplier's webhook secret.
    pub signed: bool,
}

#[derive(Clone)]
struct Shared {
    mode: Arc<Mutex<Mode>>,
    secret: Arc<Mutex<String>>,
    calls: Arc<Mutex<Vec<Call>>>,
    /// Cards issued per request_id: a repeat gets the same ones.
    issued: Arc<Mutex<HashMap<String, Vec<String>>>>,
    next: Arc<Mutex<u64>>,
}

pub struct FakeSupplier {
    pub url: String,
    shared: Shared,
}

async fn fulfil(req: HttpRequest, body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let request_id = json["request_id"].as_str().unwrap_or("").to_string();
    let secret = s.secret.lock().unwrap().clone();
    let signed = kameng::client::verify_event(req.headers(), &body, &secret);
    s.calls.lock().unwrap().push(Call {
        request_id: request_id.clone(),
        body: json.clone(),
        signed,
    });
    let quantity = json["quantity"].as_u64().unwrap_or(0);
    let mut codes = {
        let mut issued = s.issued.lock().unwrap();
        issued
            .entry(request_id)
            .or_insert_with(|| {
                let mut next = s.next.lock().unwrap();
                (0..quantity)
                    .map(|_| {
                        *next += 1;
                        format!("JIT-{:08}", *next)
                    })
                    .collect()
            })
            .clone()
    };
    // Codes are issued before the answer goes out: a kameng killed while this one is slow
    // has been issued codes it never stored, and must get the same ones when it asks again.
    let mode = s.mode.lock().unwrap().clone();
    match &mode {
        Mode::Slow(d) => tokio::time::sleep(*d).await,
        Mode::Status(code) => {
            return HttpResponse::build(actix_web::http::StatusCode::from_u16(*code).unwrap())
                .finish()
        }
        _ => {}
    }
    match mode {
        Mode::WrongCount => {
            codes.pop();
        }
        Mode::Known(code) => codes[0] = code,
        _ => {}
    }
    let cards: Vec<Value> = codes
        .iter()
        .map(|c| json!({"code": c, "secret": format!("S-{c}")}))
        .collect();
    HttpResponse::Ok().json(json!({ "cards": cards }))
}

impl FakeSupplier {
    pub fn start() -> FakeSupplier {
        let shared = Shared {
            mode: Arc::new(Mutex::new(Mode::Issue)),
            secret: Arc::default(),
            calls: Arc::default(),
            issued: Arc::default(),
            next: Arc::default(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/fulfil", listener.local_addr().unwrap());
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/fulfil", web::post().to(fulfil))
        })
        .workers(2)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        FakeSupplier { url, shared }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// The supplier's webhook secret, to check kameng's signature with.
    pub fn set_secret(&self, secret: &str) {
        *self.shared.secret.lock().unwrap() = secret.to_string();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// The codes issued for a request_id.
    pub fn issued(&self, request_id: &str) -> Vec<String> {
        self.shared
            .issued
            .lock()
            .unwrap()
            .get(request_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `n` calls arrived (or panics after `secs`).
    pub async fn wait_calls(&self, n: usize, secs: u64) -> Vec<Call> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let calls = self.calls();
            if calls.len() >= n {
                return calls;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited for {n} fulfilment calls; got {calls:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
