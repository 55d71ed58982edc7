//! What the supplier and reseller admin endpoints do, once for both kinds of account. The
//! route functions in `suppliers.rs` and `resellers.rs` carry their paths and documentation
//! (the OpenAPI document names each operation) and call these.

use actix_web::{web, HttpResponse};

use crate::api::{Page, PageQuery, Paged};
use crate::auth::AdminSession;
use crate::domain::accounts::{self, Account};
use crate::error::Result;
use crate::state::AppState;

pub(super) async fn create<A: Account>(
    state: web::Data<AppState>,
    admin: AdminSession,
    new: A::New,
) -> Result<HttpResponse> {
    let st = state.clone();
    let created = state
        .db
        .write_async(move |c| accounts::create::<A>(c, &st.vault, &admin.actor(), &new))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

pub(super) async fn list<A: Account>(
    state: web::Data<AppState>,
    q: PageQuery,
) -> Result<HttpResponse> {
    let limit = q.page_size()?;
    let after = q.cursor_key()?;
    let rows = state
        .db
        .read_async(move |c| accounts::list::<A>(c, after.as_deref(), limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |a| a.id().to_string())))
}

pub(super) async fn get<A: Account>(
    state: web::Data<AppState>,
    id: String,
) -> Result<HttpResponse> {
    let account = state
        .db
        .read_async(move |c| accounts::get::<A>(c, &id))
        .await?;
    Ok(HttpResponse::Ok().json(account))
}

pub(super) async fn update<A: Account>(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: String,
    patch: A::Patch,
) -> Result<HttpResponse> {
    let max_depth = state.config.max_reseller_depth;
    let account = state
        .db
        .write_async(move |c| accounts::update::<A>(c, &admin.actor(), &id, &patch, max_depth))
        .await?;
    Ok(HttpResponse::Ok().json(account))
}

pub(super) async fn issue_key<A: Account>(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: String,
    sandbox: bool,
) -> Result<HttpResponse> {
    let st = state.clone();
    let key = state
        .db
        .write_async(move |c| accounts::issue_key::<A>(c, &st.vault, &admin.actor(), &id, sandbox))
        .await?;
    Ok(HttpResponse::Created().json(key))
}
