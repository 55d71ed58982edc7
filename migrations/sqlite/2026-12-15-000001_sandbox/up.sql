-- Sandbox keys see a world of their own: a balance and orders in these tables only, so nothing
-- they do reaches live stock, balances, the ledger, analytics or the chain.
ALTER TABLE api_keys ADD COLUMN sandbox BOOLEAN NOT NULL DEFAULT 0;

CREATE TABLE sandbox_accounts (
    reseller_id TEXT PRIMARY KEY NOT NULL,
    balance BIGINT NOT NULL,
    reset_at BIGINT NOT NULL
);

CREATE TABLE sandbox_orders (
    id TEXT PRIMARY KEY NOT NULL,
    reseller_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    notify_url TEXT,
    topup TEXT,
    cards TEXT,
    receipt TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    deadline_at BIGINT,
    result_message TEXT
);
CREATE UNIQUE INDEX sandbox_orders_trade_no ON sandbox_orders (reseller_id, out_trade_no);
CREATE INDEX sandbox_orders_processing ON sandbox_orders (status, deadline_at);

-- Which out_trade_no already met `SANDBOX-UNAVAILABLE` once (its retry then succeeds).
CREATE TABLE sandbox_attempts (
    reseller_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (reseller_id, out_trade_no)
);
