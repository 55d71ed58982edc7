use actix_web::{get, web, HttpResponse};

use crate::api::page::{page_query, Page, Paged};
use crate::api::query::{order_states, status_filter, Query};
use crate::auth::AdminSession;
use crate::domain::trade::orders::{Order, OrderFilter};
use crate::error::Result;
use crate::state::AppState;

page_query! {
    pub struct AdminOrderQuery {
        pub reseller_id: Option<String>,
        pub product_id: Option<String>,
        pub status: Option<String>,
        pub out_trade_no: Option<String>,
    }
}

/// All orders, newest first (codes are never listed).
#[utoipa::path(operation_id = "listAdminOrders", tag = "admin", params(AdminOrderQuery),
    responses((status = 200, body = Page<Order>)), security(("admin" = [])))]
#[get("/v1/admin/orders")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: Query<AdminOrderQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    let filter = OrderFilter {
        reseller_id: q.reseller_id,
        out_trade_no: q.out_trade_no,
        status: status_filter(q.status, &order_states())?,
        product_id: q.product_id,
        before,
        limit,
    };
    crate::api::orders::order_page(&state, filter).await
}
