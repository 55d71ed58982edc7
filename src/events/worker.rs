//! The delivery worker: claims due events, POSTs them signed, records each attempt. It runs
//! inside `kameng serve`; several instances can run it at once (leases + SKIP LOCKED). A slow
//! or dead receiver holds only its own task: sends run concurrently, each with short timeouts,
//! and never on the order path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use tokio::sync::Semaphore;

use super::outbox::{self, DueEvent, Outcome};
use super::ssrf;
use crate::auth::signing::{sign_event_with_all, HEADER_EVENT, HEADER_EVENT_ID, HEADER_SIGNATURE};
use crate::state::AppState;

/// How long a claimed attempt belongs to one worker before another may retry it.
const LEASE_MS: i64 = 60_000;
const BATCH: i64 = 64;
const CONCURRENT_SENDS: usize = 32;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_secs(1);

/// Starts the worker loop on the current runtime.
pub fn spawn(state: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let permits = Arc::new(Semaphore::new(CONCURRENT_SENDS));
        loop {
            tokio::select! {
                _ = state.events_wakeup.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
            loop {
                let now = crate::time::now_ms();
                let due = match state
                    .db
                    .write_async(move |c| outbox::claim_due(c, now, LEASE_MS, BATCH))
                    .await
                {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming events failed");
                        break;
                    }
                };
                let n = due.len();
                for ev in due {
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return;
                    };
                    let state = state.clone();
                    actix_web::rt::spawn(async move {
                        deliver_and_record(&state, ev).await;
                        drop(permit);
                    });
                }
                if (n as i64) < BATCH {
                    break;
                }
            }
        }
    });
}

/// Sends one claimed event and records the attempt; returns the outcome.
pub async fn deliver_and_record(state: &AppState, ev: DueEvent) -> Outcome {
    let outcome = send(state, &ev).await;
    if outcome.succeeded() {
        tracing::debug!(event = %ev.id, "event delivered");
    } else {
        tracing::info!(event = %ev.id, status = ?outcome.status_code, error = ?outcome.error, "event delivery failed");
        state.metrics.record_webhook_failure(&ev.event_type);
    }
    let schedule = state.config.webhook_retry_schedule.clone();
    let recorded = outcome.clone();
    let now = crate::time::now_ms();
    if let Err(e) = state
        .db
        .write_async(move |c| outbox::record_attempt(c, &ev, &recorded, &schedule, now))
        .await
    {
        tracing::warn!(error = %e, "recording an attempt failed");
    }
    outcome
}

async fn send(state: &AppState, ev: &DueEvent) -> Outcome {
    let started = Instant::now();
    let fail = |error: String| Outcome {
        status_code: None,
        latency_ms: started.elapsed().as_millis() as i64,
        error: Some(error),
    };
    let url = match url::Url::parse(&ev.url) {
        Ok(u) => u,
        Err(_) => return fail("invalid URL".into()),
    };
    let addr = match ssrf::resolve_target(&url, state.config.allow_private_webhooks).await {
        Ok(a) => a,
        Err(e) => return fail(e.to_string()),
    };
    let secrets = match ev
        .secrets_enc
        .iter()
        .map(|enc| state.vault.decrypt_string(enc))
        .collect::<Result<Vec<String>, _>>()
    {
        Ok(s) => s,
        Err(e) => return fail(format!("secret: {e}")),
    };
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let host = url.host_str().unwrap_or_default().to_string();
    // Pin the connection to the address that passed the check.
    let client = match reqwest::Client::builder()
        .resolve(&host, addr)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("kameng-webhooks/1")
        .build()
    {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let body = ev.payload.clone().into_bytes();
    let signature = sign_event_with_all(&secrets, crate::time::now_secs(), &body);
    let res = client
        .post(url)
        .header("content-type", "application/json")
        .header(HEADER_EVENT_ID, &ev.id)
        .header(HEADER_EVENT, &ev.event_type)
        .header(HEADER_SIGNATURE, signature)
        .body(body)
        .send()
        .await;
    match res {
        Ok(r) => Outcome {
            status_code: Some(r.status().as_u16()),
            latency_ms: started.elapsed().as_millis() as i64,
            error: None,
        },
        Err(e) if e.is_timeout() => fail("timed out".into()),
        Err(e) if e.is_connect() => fail("connection failed".into()),
        Err(e) => fail(format!("request failed: {e}")),
    }
}
