-- Sales rollups for analytics, forecasts and recommendations, so none of them scans `orders`.
-- Maintained inside the order transaction (domain::analytics::record_sale / record_refund);
-- days are UTC day numbers (created_at / 86400000). Money is BIGINT minor units.
-- A refunded order stays counted on its sale day and is also counted in refunded_*.

-- One row per reseller, day, product and buyer region ('' when the reseller named none):
-- a reseller's own analytics are one primary-key range scan.
CREATE TABLE sales_daily (
    reseller_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    product_id TEXT NOT NULL,
    region TEXT NOT NULL,
    currency TEXT NOT NULL,
    order_count BIGINT NOT NULL,
    units BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    refunded_count BIGINT NOT NULL DEFAULT 0,
    refunded_units BIGINT NOT NULL DEFAULT 0,
    refunded_amount BIGINT NOT NULL DEFAULT 0,
    refunded_cost BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (reseller_id, day, product_id, region)
) WITHOUT ROWID;
CREATE INDEX sales_daily_day ON sales_daily(day);

-- The same figures summed along one dimension ('product', 'region', 'reseller') per day and
-- per calendar month (`period`; `day` is the period's first day): platform reports read whole
-- months plus the loose days at the ends of a range, a few thousand rows for a year however
-- many orders there are.
CREATE TABLE sales_rollup (
    dim TEXT NOT NULL,
    period TEXT NOT NULL,
    day BIGINT NOT NULL,
    dim_key TEXT NOT NULL,
    currency TEXT NOT NULL,
    order_count BIGINT NOT NULL,
    units BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    refunded_count BIGINT NOT NULL DEFAULT 0,
    refunded_units BIGINT NOT NULL DEFAULT 0,
    refunded_amount BIGINT NOT NULL DEFAULT 0,
    refunded_cost BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, period, day, dim_key, currency)
) WITHOUT ROWID;
-- Products' daily series, for forecasts. Partial, so that only queries naming these two
-- constants use it: as a full index it looked cheaper to the SQLite planner for platform
-- reports (no sort for GROUP BY dim_key) while scanning every day of every product.
CREATE INDEX sales_rollup_product_days ON sales_rollup(dim_key, day)
    WHERE dim = 'product' AND period = 'day';

-- Backfill from the orders already recorded (the same statements as analytics::rebuild).
INSERT INTO sales_daily (reseller_id, day, product_id, region, currency, order_count, units,
    amount, cost, refunded_count, refunded_units, refunded_amount, refunded_cost)
SELECT reseller_id, created_at / 86400000, product_id, COALESCE(buyer_region, ''), MAX(currency),
    COUNT(*), SUM(quantity), SUM(amount), SUM(cost_amount),
    SUM(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END),
    SUM(CASE WHEN status = 'refunded' THEN quantity ELSE 0 END),
    SUM(CASE WHEN status = 'refunded' THEN amount ELSE 0 END),
    SUM(CASE WHEN status = 'refunded' THEN cost_amount ELSE 0 END)
FROM orders WHERE status IN ('delivered', 'completed', 'refunded')
GROUP BY reseller_id, created_at / 86400000, product_id, COALESCE(buyer_region, '');
INSERT INTO sales_rollup (dim, period, day, dim_key, currency, order_count, units, amount,
    cost, refunded_count, refunded_units, refunded_amount, refunded_cost)
SELECT 'product', 'day', day, product_id, currency, SUM(order_count), SUM(units), SUM(amount), SUM(cost),
    SUM(refunded_count), SUM(refunded_units), SUM(refunded_amount), SUM(refunded_cost)
FROM sales_daily GROUP BY product_id, day, currency;
INSERT INTO sales_rollup (dim, period, day, dim_key, currency, order_count, units, amount,
    cost, refunded_count, refunded_units, refunded_amount, refunded_cost)
SELECT 'region', 'day', day, region, currency, SUM(order_count), SUM(units), SUM(amount), SUM(cost),
    SUM(refunded_count), SUM(refunded_units), SUM(refunded_amount), SUM(refunded_cost)
FROM sales_daily GROUP BY region, day, currency;
INSERT INTO sales_rollup (dim, period, day, dim_key, currency, order_count, units, amount,
    cost, refunded_count, refunded_units, refunded_amount, refunded_cost)
SELECT 'reseller', 'day', day, reseller_id, currency, SUM(order_count), SUM(units), SUM(amount), SUM(cost),
    SUM(refunded_count), SUM(refunded_units), SUM(refunded_amount), SUM(refunded_cost)
FROM sales_daily GROUP BY reseller_id, day, currency;
INSERT INTO sales_rollup (dim, period, day, dim_key, currency, order_count, units, amount,
    cost, refunded_count, refunded_units, refunded_amount, refunded_cost)
SELECT dim, 'month', CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER), dim_key, currency, SUM(order_count), SUM(units), SUM(amount),
    SUM(cost), SUM(refunded_count), SUM(refunded_units), SUM(refunded_amount), SUM(refunded_cost)
FROM sales_rollup WHERE period = 'day'
GROUP BY dim, CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER), dim_key, currency;
