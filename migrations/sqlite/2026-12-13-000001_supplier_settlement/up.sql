-- Supplier settlement. What a supplier is owed is the sum of its ledger account
-- (`supplier:<id>`): costs of delivered orders, less chargebacks from refunds, less payouts. No
-- balance row is kept (orders would all update it); a payout is a ledger transaction and this
-- table only remembers its `reference`, so a repeated request finds the first payout.
CREATE TABLE supplier_payouts (
    id TEXT PRIMARY KEY,
    supplier_id TEXT NOT NULL REFERENCES suppliers(id),
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    reference TEXT NOT NULL,
    memo TEXT,
    txn_seq BIGINT NOT NULL REFERENCES audit_chain(seq),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX supplier_payouts_reference ON supplier_payouts(supplier_id, reference);
