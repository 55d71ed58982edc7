//! Forecasts and days of cover as admins and suppliers see them, and the slow-movers list.

use diesel::prelude::*;
use kameng::db::schema::products;
use kameng::domain::insight::analytics::DAY_MS;
use kameng::domain::insight::forecast;

use super::seed_history;
use crate::common::TestApp;

/// Twelve weeks of a weekly pattern averaging 10 units a day.
fn weekly_history() -> Vec<i64> {
    const WEEK: [i64; 7] = [14, 12, 10, 8, 6, 7, 13];
    (0..84).map(|t| WEEK[t % 7]).collect()
}

fn backdate(app: &TestApp, product_id: &str, days: i64) {
    let then = kameng::time::now_ms() - days * DAY_MS;
    app.state
        .db
        .write_direct(|c| {
            diesel::update(products::table.find(product_id))
                .set(products::created_at.eq(then))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
}

#[actix_web::test]
async fn forecast_follows_the_weekly_pattern_and_gives_days_of_cover() {
    let app = TestApp::spawn().await;
    let (_, sc, p) = app.stocked_product("FC-1", 100, 50, 100).await;
    let (r, _) = app.reseller(None, 0).await;
    let history = weekly_history();
    seed_history(&app, &r.reseller.id, &p.product.id, 100, &history);

    let f = app.admin.product_forecast(&p.product.id).await.unwrap();
    assert_eq!(f.forecast.method, "holt_winters");
    assert_eq!(f.forecast.history_days, 84);
    assert_eq!(
        f.history,
        history.iter().map(|u| *u as f64).collect::<Vec<_>>()
    );
    // The pattern repeats: each forecast day matches the same weekday of the history.
    for (h, v) in f.forecast.daily.iter().enumerate() {
        let same_weekday = history[(84 + h) % 7] as f64;
        assert!(
            (v - same_weekday).abs() < 1.0,
            "day {h}: {v} vs {same_weekday}"
        );
    }
    // 100 codes at ~10 a day: ten days, give or take the weekday mix.
    let cover = f.forecast.days_of_cover.unwrap();
    assert!((9.0..11.0).contains(&cover), "{cover}");
    let direct = app
        .state
        .db
        .read(|c| forecast::days_of_cover(c, &p.product.id, kameng::time::now_ms()))
        .unwrap()
        .unwrap();
    assert!((direct - cover).abs() < 0.06, "{direct} vs {cover}");

    // The supplier sees the same forecast next to its stock.
    let mine = sc.supplier_products().await.unwrap();
    assert_eq!(mine[0].forecast.daily, f.forecast.daily);
    assert_eq!(mine[0].forecast.days_of_cover, Some(cover));
    assert_eq!(mine[0].sales.units, history[55..].iter().sum::<i64>());

    let missing = app.admin.product_forecast("prd_nope").await.unwrap_err();
    assert_eq!(missing.code(), Some("not_found"));
}

#[actix_web::test]
async fn slow_movers_are_products_whose_stock_outlasts_ninety_days() {
    let app = TestApp::spawn().await;
    let (r, _) = app.reseller(None, 0).await;
    let (_, _, fast) = app.stocked_product("SM-FAST", 100, 50, 100).await;
    let (_, _, slow) = app.stocked_product("SM-SLOW", 100, 50, 300).await;
    let (_, _, idle) = app.stocked_product("SM-IDLE", 100, 50, 5).await;
    let (_, _, young) = app.stocked_product("SM-NEW", 100, 50, 5).await;
    for p in [&fast, &slow, &idle] {
        backdate(&app, &p.product.id, 100);
    }
    seed_history(
        &app,
        &r.reseller.id,
        &fast.product.id,
        100,
        &weekly_history(),
    );
    // One unit every other day: 300 codes last ~600 days.
    let sparse: Vec<i64> = (0..84).map(|t| (t % 2) as i64).collect();
    seed_history(&app, &r.reseller.id, &slow.product.id, 100, &sparse);

    let list = app.admin.slow_movers("").await.unwrap();
    let ids: Vec<&str> = list.iter().map(|m| m.product_id.as_str()).collect();
    // Nothing expected at all comes first, then the longest cover; fast and new products are
    // not listed.
    assert_eq!(ids, [idle.product.id.as_str(), slow.product.id.as_str()]);
    assert_eq!(list[0].days_of_cover, None);
    let slow_cover = list[1].days_of_cover.unwrap();
    assert!(slow_cover > 400.0, "{slow_cover}");
    assert!((list[1].expected_daily - 0.5).abs() < 0.1);
    assert!(!ids.contains(&young.product.id.as_str()));

    let stricter = app.admin.slow_movers("min_days=5").await.unwrap();
    assert!(stricter.iter().any(|m| m.product_id == fast.product.id));
    let bad = app.admin.slow_movers("min_days=-1").await.unwrap_err();
    assert_eq!(bad.code(), Some("invalid_request"));
}
