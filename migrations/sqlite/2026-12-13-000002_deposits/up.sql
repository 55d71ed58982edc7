-- Reseller deposits: a request to fund a prepaid balance, settled by an admin confirming a bank
-- transfer or by a payment provider's signed callback. `status` moves only by conditional
-- updates (pending -> credited | expired | review, review -> credited), so a deposit is credited
-- at most once whoever settles it and however often.
CREATE TABLE deposits (
    id TEXT PRIMARY KEY,
    reseller_id TEXT NOT NULL REFERENCES resellers(id),
    reference TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL,
    out_trade_no TEXT,
    credited_amount BIGINT,
    provider_transaction_id TEXT,
    review_reason TEXT,
    txn_seq BIGINT REFERENCES audit_chain(seq),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    settled_at BIGINT
);
CREATE UNIQUE INDEX deposits_reference ON deposits(reference);
CREATE UNIQUE INDEX deposits_out_trade_no ON deposits(reseller_id, out_trade_no);
CREATE INDEX deposits_reseller ON deposits(reseller_id, id);
CREATE INDEX deposits_pending ON deposits(expires_at) WHERE status = 'pending';

-- Every verified provider callback and what it did, including the ones that credited nothing
-- (a repeat, a late payment, a mismatch): the operator's trail when a buyer says "I paid".
CREATE TABLE payment_callbacks (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    deposit_id TEXT,
    transaction_id TEXT NOT NULL,
    status TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX payment_callbacks_deposit ON payment_callbacks(deposit_id, id);
