//! A callback receiver for tests: records every request and answers with the configured status.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

#[derive(Debug, Clone)]
pub struct Received {
    pub event_id: String,
    pub event_type: String,
    pub signature: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
    delay: Arc<Mutex<Duration>>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
}

async fn hook(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    shared.received.lock().unwrap().push(Received {
        event_id: h("x-kameng-event-id"),
        event_type: h("x-kameng-event"),
        signature: h("x-kameng-signature"),
        body: body.to_vec(),
    });
    let delay = *shared.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let status = *shared.status.lock().unwrap();
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    pub fn start() -> Receiver {
        let shared = Shared::default();
        *shared.status.lock().unwrap() = 200;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/hook", web::post().to(hook))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Receiver { url, shared }
    }

    pub fn respond_with(&self, status: u16) {
        *self.shared.status.lock().unwrap() = status;
    }

    pub fn delay(&self, d: Duration) {
        *self.shared.delay.lock().unwrap() = d;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The first callback of `event_type`, waiting up to 5 s for it.
    pub async fn event(&self, event_type: &str) -> Received {
        let got = self
            .wait_for(5, |g| g.iter().any(|r| r.event_type == event_type))
            .await;
        got.into_iter()
            .find(|r| r.event_type == event_type)
            .expect("waited for it")
    }

    /// Waits until `pred` holds for what was received (or panics after `secs`).
    pub async fn wait_for(&self, secs: u64, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if pred(&got) {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for callbacks; got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
