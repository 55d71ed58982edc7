-- Scale-out without a lock every order shares (see domain::money::chain). A transaction now
-- inserts its record unsealed (pos NULL, prev_hash and hash empty); a sealer links committed
-- records into the chain in the order it finds them: `pos` is the chain position, `seq` stays
-- the record's identity that ledger lines and orders point at. Records chained before this
-- migration keep their hashes: their position is their sequence number.
ALTER TABLE audit_chain ADD COLUMN pos BIGINT;
UPDATE audit_chain SET pos = seq;
CREATE UNIQUE INDEX audit_chain_pos ON audit_chain(pos);
CREATE INDEX audit_chain_unsealed ON audit_chain(seq) WHERE pos IS NULL;

-- Sales, refunds and stock taken by orders, not yet added to the rollups and the product's
-- stock counter: orders append here instead of updating rows every buyer shares; a settler
-- folds them in (see domain::trade::sales_rollup). Readers add what is pending to the stock.
CREATE TABLE pending_sales (
    id BIGSERIAL PRIMARY KEY,
    sale_at BIGINT NOT NULL,
    reseller_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    region TEXT NOT NULL,
    currency TEXT NOT NULL,
    order_count BIGINT NOT NULL,
    units BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    refunded_count BIGINT NOT NULL,
    refunded_units BIGINT NOT NULL,
    refunded_amount BIGINT NOT NULL,
    refunded_cost BIGINT NOT NULL,
    stock_delta BIGINT NOT NULL
);
CREATE INDEX pending_sales_product ON pending_sales(product_id);

-- Record identities come from a sequence (no lock); SQLite's single writer takes MAX + 1.
CREATE SEQUENCE audit_chain_seq OWNED BY audit_chain.seq;
SELECT setval('audit_chain_seq', COALESCE((SELECT MAX(seq) FROM audit_chain), 0) + 1, false);
ALTER TABLE audit_chain ALTER COLUMN seq SET DEFAULT nextval('audit_chain_seq');
