//! The rollups agree with the orders table: kept incrementally, rebuilt, or backfilled by the
//! migration; refunds count against their sale day; ranges across months add up.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use kameng::db::schema::{orders, sales_daily, sales_rollup};
use kameng::db::Backend;
use kameng::domain::insight::analytics::{self, DAY_MS};
use kameng::domain::trade::orders::OrderRow;
use kameng::domain::trade::pending;
use kameng::domain::trade::sales_rollup::{self as rollup, Sale};

use super::order_in;
use crate::common::TestApp;

type RollupRows = (
    Vec<(String, i64, String, String, i64, i64, i64, i64, i64)>,
    Vec<(String, String, String, i64, i64, i64, i64, i64, i64)>,
);

fn rollups(app: &TestApp) -> RollupRows {
    app.state
        .db
        .read(|c| {
            use sales_daily as d;
            use sales_rollup as r;
            let daily = d::table
                .select((
                    d::reseller_id,
                    d::day,
                    d::product_id,
                    d::region,
                    d::order_count,
                    d::units,
                    d::amount,
                    d::cost,
                    d::refunded_amount,
                ))
                .order((d::reseller_id, d::day, d::product_id, d::region))
                .load(c)?;
            let dims = r::table
                .select((
                    r::dim,
                    r::period,
                    r::dim_key,
                    r::day,
                    r::order_count,
                    r::units,
                    r::amount,
                    r::cost,
                    r::refunded_amount,
                ))
                .order((r::dim, r::period, r::dim_key, r::day))
                .load(c)?;
            Ok((daily, dims))
        })
        .unwrap()
}

/// The incrementally kept rollups equal a rebuild from the orders table, and the migration's
/// own backfill (its down, then its up, over the orders there are).
pub fn assert_backfills_agree(app: &TestApp) {
    // Orders placed through the API may still be pending on PostgreSQL (`trade::pending`).
    app.state.db.write(|c| pending::fold(c, true)).unwrap();
    let before = rollups(app);
    app.state.db.write(rollup::rebuild).unwrap();
    assert_eq!(rollups(app), before, "rebuild differs");
    let migration = match app.state.db.backend() {
        Backend::Sqlite => [
            include_str!("../../../migrations/sqlite/2026-11-25-000020_sales_analytics/down.sql"),
            include_str!("../../../migrations/sqlite/2026-11-25-000020_sales_analytics/up.sql"),
        ],
        Backend::Postgres => [
            include_str!("../../../migrations/postgres/2026-11-25-000020_sales_analytics/down.sql"),
            include_str!("../../../migrations/postgres/2026-11-25-000020_sales_analytics/up.sql"),
        ],
    };
    app.state
        .db
        .write_direct(|c| {
            for sql in migration {
                c.batch_execute(sql)?;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(rollups(app), before, "the migration's backfill differs");
}

#[actix_web::test]
async fn ranges_across_months_add_up_to_their_orders() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("MO-1", 300, 200, 20).await;
    let (_, c) = app.reseller(None, 1_000_000).await;
    let now = kameng::time::now_ms();
    let today = analytics::day_of(now);
    // Seven orders 0, 17, 34, ... 102 days ago: they straddle several month boundaries.
    let mut placed = Vec::new();
    for i in 0..7i64 {
        let o = c
            .create_order(&order_in(
                &p.product.id,
                1 + i % 3,
                &format!("M{i}"),
                Some("CN-SH"),
            ))
            .await
            .unwrap()
            .0;
        placed.push((today - 17 * i, o));
    }
    // Backdate them, and record them again as the order transaction would have on those days.
    app.state
        .db
        .write_direct(|conn| {
            // Their sales may still be pending (PostgreSQL): fold them before starting over.
            pending::fold(conn, true)?;
            conn.batch_execute("DELETE FROM sales_rollup; DELETE FROM sales_daily;")?;
            for (day, o) in &placed {
                let at = day * DAY_MS + 3_600_000;
                diesel::update(orders::table.find(&o.id))
                    .set(orders::created_at.eq(at))
                    .execute(conn)?;
                let row: OrderRow = orders::table
                    .find(&o.id)
                    .select(OrderRow::as_select())
                    .first(conn)?;
                pending::record_sale(conn, &Sale::from(&row), 0)?;
            }
            pending::fold(conn, true)?;
            Ok(())
        })
        .unwrap();
    assert_backfills_agree(&app);
    for (from, to) in [(103, 0), (60, 10), (40, 20), (34, 34), (102, 68)] {
        let want: i64 = placed
            .iter()
            .filter(|(d, _)| (today - from..=today - to).contains(d))
            .map(|(_, o)| o.amount)
            .sum();
        let q = format!(
            "from={}&to={}",
            analytics::day_label(today - from),
            analytics::day_label(today - to)
        );
        let admin = app
            .admin
            .sales_analytics(&format!("{q}&group_by=product"))
            .await
            .unwrap();
        assert_eq!(admin.totals.gmv, want, "{q}");
        let by_day = app.admin.sales_analytics(&q).await.unwrap();
        assert_eq!(
            by_day.groups.iter().map(|g| g.figures.gmv).sum::<i64>(),
            want,
            "{q}"
        );
        let mine = c
            .sales_analytics(&format!("{q}&group_by=region"))
            .await
            .unwrap();
        assert_eq!(mine.totals.amount, want, "{q}");
    }
}

#[actix_web::test]
async fn refunds_count_against_the_sale_day_and_leave_margin() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("RF-1", 1000, 700, 10).await;
    let (_, c) = app.reseller(None, 100_000).await;
    let a = c.buy(&p.product.id, 1, "R1").await.unwrap();
    c.buy(&p.product.id, 1, "R2").await.unwrap();
    // What the refund path does in its transaction: set the status, then record the refund.
    app.state
        .db
        .write_direct(|conn| {
            diesel::update(orders::table.find(&a.id))
                .set(orders::status.eq("refunded"))
                .execute(conn)?;
            let row: OrderRow = orders::table
                .find(&a.id)
                .select(OrderRow::as_select())
                .first(conn)?;
            pending::record_refund(conn, &Sale::from(&row))
        })
        .unwrap();
    let admin = app.admin.sales_analytics("").await.unwrap();
    assert_eq!((admin.totals.orders, admin.totals.refunded_orders), (2, 1));
    assert_eq!(admin.totals.refund_rate, 0.5);
    assert_eq!((admin.totals.gmv, admin.totals.net_gmv), (2000, 1000));
    assert_eq!(
        admin.totals.margin, 300,
        "only the kept order earns a margin"
    );
    let mine = c.sales_analytics("").await.unwrap();
    assert_eq!(
        (mine.totals.refunded_orders, mine.totals.net_amount),
        (1, 1000)
    );
    assert_backfills_agree(&app);
}
