-- Just-in-time (declared-stock) products: a supplier's fulfilment endpoint per card product,
-- asked for codes when an order finds too few pushed ones (see domain::trade::fulfilment).
-- `declared_at` names the current declaration: the JIT units sold against it are counted from
-- the reservations carrying the same value, so no order updates this row (issue 15).
-- `paused_until` is the circuit breaker, written only when it trips.
CREATE TABLE jit_fulfilment (
    product_id TEXT PRIMARY KEY NOT NULL,
    supplier_id TEXT NOT NULL,
    url TEXT NOT NULL,
    declared_stock BIGINT NOT NULL,
    timeout_ms BIGINT NOT NULL,
    declared_at BIGINT NOT NULL,
    paused_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jit_fulfilment_supplier ON jit_fulfilment(supplier_id);

-- One order's call to a supplier: reserved before the call (no transaction held during it),
-- then done (the order committed with the supplier's codes), failed (the supplier's fault:
-- counted in its quality figures and circuit breaker) or released (the order failed for its
-- own reasons; the codes became ordinary stock). `request_id` is what the supplier sees and
-- must answer identically when asked again (resume after a crash).
CREATE TABLE jit_reservations (
    request_id TEXT PRIMARY KEY NOT NULL,
    reseller_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    product_id TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    request TEXT NOT NULL,
    key_daily_limit BIGINT,
    declared_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    failure TEXT,
    order_id TEXT,
    created_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    finished_at BIGINT
);
-- A retry of the same out_trade_no finds the reservation in flight and waits for it.
CREATE UNIQUE INDEX jit_reservations_in_flight ON jit_reservations(reseller_id, out_trade_no)
    WHERE status = 'reserved';
CREATE INDEX jit_reservations_reserved ON jit_reservations(lease_until) WHERE status = 'reserved';
CREATE INDEX jit_reservations_declared ON jit_reservations(product_id, declared_at);
CREATE INDEX jit_reservations_supplier ON jit_reservations(supplier_id, finished_at);
