//! Gift links: the unsigned holder's side (`/v1/claims/{token}`: see, redeem) and the buyer's
//! signed side (list, export, revoke). The rules are in `domain::trade::claims`.
//!
//! The token is a bearer credential in the path: the access log records the route pattern
//! (`/v1/claims/{token}`), never the path itself (`api::middleware`), and no error names it.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};

use super::page::{page_query, Page, Paged};
use crate::api::query::Query;
use crate::auth::{Scope, Signed};
use crate::domain::trade::claims::{
    self, ClaimFilter, ClaimLink, ClaimStatus, PublicClaim, Redeemed,
};
use crate::error::{Error, Problem, Result};
use crate::state::AppState;

/// The caller's IP for the per-IP limits: the TCP peer (a proxy in front should be the one
/// place that limits, or pass its own limits; forwarded headers are not trusted).
fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.peer_addr().map(|a| a.ip())
}

/// Runs an unsigned gift-link request under the per-IP rate limit and guess lockout; an
/// unknown token counts as a guess.
async fn guarded<T>(
    state: &AppState,
    req: &HttpRequest,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let ip = client_ip(req);
    if let Some(ip) = ip {
        state.limits.check_claim(ip)?;
    }
    let out = work.await;
    if let (Err(Error::NotFound(_)), Some(ip)) = (&out, ip) {
        state.limits.claim_missed(ip);
    }
    out
}

/// See a gift link: the product and whether it is still redeemable. No signature: the token is
/// the credential. Shows nothing of the buyer.
#[utoipa::path(tag = "claims", operation_id = "getClaim",
    params(("token" = String, Path, description = "the link's token")),
    responses(
        (status = 200, body = PublicClaim, example = json!({"status": "unclaimed", "product_name": "Steam 100", "face_value": 10000, "currency": "CNY", "expires_at": "2027-01-01T00:00:00Z", "claimed_at": null})),
        (status = 404, description = "not_found (unknown token; counts towards the lockout)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited (too many requests, or too many unknown tokens, from this IP)", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/v1/claims/{token}")]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse> {
    let token = token.into_inner();
    let now = crate::time::now_ms();
    let db = state.db.clone();
    let claim = guarded(
        &state,
        &req,
        db.read_async(move |c| claims::lookup(c, &token, now)),
    )
    .await?;
    Ok(HttpResponse::Ok().json(claim))
}

/// Redeem a gift link: its code, once. Concurrent redeems of one link: one gets the code, the
/// others `already_claimed`. The buyer gets `claim.redeemed`.
#[utoipa::path(tag = "claims", operation_id = "redeemClaim",
    params(("token" = String, Path, description = "the link's token")),
    responses(
        (status = 200, body = Redeemed),
        (status = 404, description = "not_found (unknown token; counts towards the lockout)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already_claimed (redeemed before; the code is not shown again), or conflict (expired or revoked)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/claims/{token}/redeem")]
pub async fn redeem(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse> {
    let redeemed = guarded(
        &state,
        &req,
        claims::redeem(&state.db, state.vault.clone(), token.into_inner()),
    )
    .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(redeemed))
}

page_query! {
    pub struct ClaimQuery {
        /// `unclaimed`, `claimed`, `expired` or `revoked`.
        pub status: Option<String>,
    }
}

fn status_of(q: &ClaimQuery) -> Result<Option<ClaimStatus>> {
    q.status
        .as_deref()
        .map(|s| {
            ClaimStatus::parse(s).ok_or_else(|| {
                Error::invalid(
                    "status",
                    "must be one of unclaimed, claimed, expired, revoked",
                )
            })
        })
        .transpose()
}

/// The gift links of one of this reseller's orders, oldest first, with their tokens and state
/// (for the buyer's system to mail them). With `Accept: text/csv`, all of them (filtered by
/// `status`) as CSV: `claim_id,status,ref,name,contact,url_path,expires_at,claimed_at`.
#[utoipa::path(tag = "claims", operation_id = "listOrderClaims",
    params(("id" = String, Path), ClaimQuery),
    responses(
        (status = 200, description = "the links as a page, or with `Accept: text/csv` all of them as CSV",
            content((Page<ClaimLink> = "application/json"), (String = "text/csv"))),
        (status = 404, description = "not_found (not this reseller's order)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = ["orders:read"])))]
#[get("/v1/orders/{id}/claims")]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<String>,
    query: Query<ClaimQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::OrdersRead)?.clone();
    let q = query.into_inner();
    let status = status_of(&q)?;
    let id = id.into_inner();
    let st = state.clone();
    if wants_csv(&req) {
        let csv = state
            .db
            .read_async(move |c| claims::csv_export(c, &st.vault, &caller.owner_id, &id, status))
            .await?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(csv));
    }
    let filter = ClaimFilter {
        status,
        after: q.cursor_key()?,
        limit: q.page_size()?,
    };
    let limit = filter.limit;
    let links = state
        .db
        .read_async(move |c| claims::page(c, &st.vault, &caller.owner_id, &id, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(links, limit, |l| l.claim_id.clone())))
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"))
}

/// Revoke an unredeemed gift link of this reseller's order: its card goes back to stock and
/// its price back to the balance (`claim.revoked`). Once only: a second revoke is `conflict`,
/// a redeemed link `already_claimed`.
#[utoipa::path(tag = "claims", operation_id = "revokeOrderClaim",
    params(("id" = String, Path), ("claim_id" = String, Path)),
    responses(
        (status = 200, body = ClaimLink),
        (status = 404, description = "not_found (not a link of this reseller's order)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already_claimed (redeemed), or conflict (already expired or revoked)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = ["orders:write"])))]
#[delete("/v1/orders/{id}/claims/{claim_id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    signed: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::OrdersWrite)?.clone();
    let (order_id, claim_id) = path.into_inner();
    let st = state.clone();
    let actor = format!("key:{}", caller.key_id);
    let link = state
        .db
        .write_async(move |c| {
            claims::revoke(c, &st.vault, &caller.owner_id, &order_id, &claim_id, &actor)
        })
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(link))
}
