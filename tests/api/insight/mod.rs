//! Analytics, forecasts and recommendations, end to end over the HTTP API.

mod forecast;
mod recommend;
mod rollups;
mod sales;
mod scale;

use kameng::domain::insight::analytics::DAY_MS;
use kameng::domain::trade::orders::{Buyer, OrderRequest};
use kameng::domain::trade::pending;
use kameng::domain::trade::sales_rollup::Sale;

use crate::common::{order_req, TestApp};

/// An order request with the buyer's region.
pub fn order_in(
    product_id: &str,
    quantity: i64,
    trade_no: &str,
    region: Option<&str>,
) -> OrderRequest {
    OrderRequest {
        buyer: region.map(|r| Buyer {
            id: None,
            region: Some(r.into()),
        }),
        ..order_req(product_id, quantity, trade_no)
    }
}

/// Writes a sales history straight into the rollups: `units[i]` sold `units.len() - i` days
/// ago (one order per day), as the order transaction would have recorded it.
pub fn seed_history(app: &TestApp, reseller_id: &str, product_id: &str, price: i64, units: &[i64]) {
    let now = kameng::time::now_ms();
    let n = units.len() as i64;
    app.state
        .db
        .write_direct(|c| {
            for (i, u) in units.iter().enumerate().filter(|(_, u)| **u > 0) {
                let sale = Sale {
                    created_at: now - (n - i as i64) * DAY_MS,
                    reseller_id,
                    product_id,
                    region: None,
                    currency: "CNY",
                    quantity: *u,
                    amount: u * price,
                    cost_amount: u * price / 2,
                };
                pending::record_sale(c, &sale, 0)?;
            }
            pending::fold(c, true)?;
            Ok(())
        })
        .unwrap();
}
