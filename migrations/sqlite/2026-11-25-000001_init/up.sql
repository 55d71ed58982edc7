-- Times are BIGINT unix milliseconds (UTC) in both backends; money is BIGINT minor units.
CREATE TABLE admins (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE suppliers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    webhook_url TEXT,
    webhook_secret_enc TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    created_at BIGINT NOT NULL
);

CREATE TABLE levels (
    name TEXT PRIMARY KEY NOT NULL,
    discount_bps INTEGER NOT NULL
);

CREATE TABLE resellers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_id TEXT REFERENCES resellers(id),
    notify_url TEXT,
    webhook_secret_enc TEXT NOT NULL,
    kyc_status TEXT NOT NULL DEFAULT 'unverified',
    status TEXT NOT NULL DEFAULT 'active',
    currency TEXT NOT NULL,
    balance BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_enc TEXT NOT NULL,
    scopes TEXT NOT NULL,
    daily_spend_limit BIGINT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_owner ON api_keys(owner_kind, owner_id);

CREATE TABLE request_nonces (
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX request_nonces_expiry ON request_nonces(expires_at);

CREATE TABLE categories (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    licence_required BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE products (
    id TEXT PRIMARY KEY NOT NULL,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category_id TEXT NOT NULL REFERENCES categories(id),
    supplier_id TEXT NOT NULL REFERENCES suppliers(id),
    description TEXT NOT NULL DEFAULT '',
    instructions TEXT NOT NULL DEFAULT '',
    region TEXT,
    face_value BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    delivery TEXT NOT NULL,
    status TEXT NOT NULL,
    min_quantity BIGINT NOT NULL,
    max_quantity BIGINT NOT NULL,
    topup_fields TEXT NOT NULL DEFAULT '[]',
    stock BIGINT NOT NULL DEFAULT 0,
    low_stock_threshold BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX products_category ON products(category_id);
CREATE INDEX products_supplier ON products(supplier_id);

CREATE TABLE reseller_prices (
    reseller_id TEXT NOT NULL REFERENCES resellers(id),
    product_id TEXT NOT NULL REFERENCES products(id),
    price BIGINT NOT NULL,
    PRIMARY KEY (reseller_id, product_id)
);

CREATE TABLE cards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id TEXT NOT NULL REFERENCES products(id),
    supplier_id TEXT NOT NULL,
    code_hash TEXT NOT NULL UNIQUE,
    code_enc TEXT NOT NULL,
    secret_enc TEXT,
    expires_at BIGINT,
    batch_ref TEXT,
    status TEXT NOT NULL,
    order_id TEXT,
    created_at BIGINT NOT NULL,
    sold_at BIGINT
);
-- Claiming reads only available cards of one product, oldest first: a partial index keeps that
-- O(log n) however many sold cards pile up.
CREATE INDEX cards_available ON cards(product_id, id) WHERE status = 'available';
CREATE INDEX cards_order ON cards(order_id) WHERE order_id IS NOT NULL;

CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    reseller_id TEXT NOT NULL REFERENCES resellers(id),
    key_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    product_id TEXT NOT NULL REFERENCES products(id),
    supplier_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    cost_amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    notify_url TEXT,
    topup TEXT,
    buyer_id TEXT,
    buyer_region TEXT,
    receipt TEXT NOT NULL,
    ledger_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    UNIQUE (reseller_id, out_trade_no)
);
CREATE INDEX orders_reseller ON orders(reseller_id, id);
CREATE INDEX orders_product ON orders(product_id, created_at);
CREATE INDEX orders_created ON orders(created_at);

-- One row: the tip of the hash chain. Every chained write updates it, which also serialises
-- chain appends on PostgreSQL (row lock) so concurrent writers cannot fork the chain.
CREATE TABLE chain_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_chain (
    seq BIGINT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_chain_kind ON audit_chain(kind, seq);

CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    txn_seq BIGINT NOT NULL REFERENCES audit_chain(seq),
    account TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    balance_after BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries(account, id);
CREATE INDEX ledger_entries_txn ON ledger_entries(txn_seq);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    url TEXT,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX events_due ON events(status, next_attempt_at);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    private_enc TEXT NOT NULL,
    public_key TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
