-- Gift links: a card order placed with delivery_mode "claim_links" hands out one claim per
-- card instead of its code. The card stays `sold` to the order until the claim ends: redeemed
-- (the code is revealed once to whoever holds the link), or expired / revoked (the card goes
-- back to stock and its price back to the buyer). The claim keeps `card_id` for good, so the
-- books check can still match a refunded order's receipt against the codes it named.
CREATE TABLE claims (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders(id),
    reseller_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    card_id BIGINT NOT NULL REFERENCES cards(id),
    -- SHA-256 of the link's token; the token itself is derived again when the buyer lists
    -- the claims (HMAC of the claim id under a key from the master key), never stored.
    token_hash TEXT NOT NULL,
    -- unclaimed | claimed | expired | revoked
    status TEXT NOT NULL,
    recipient_ref TEXT,
    recipient_name TEXT,
    recipient_contact TEXT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    claimed_at BIGINT,
    -- When it expired or was revoked, and the ledger transaction that refunded it.
    ended_at BIGINT,
    refund_seq BIGINT
);
CREATE UNIQUE INDEX claims_token ON claims(token_hash);
CREATE INDEX claims_order ON claims(order_id, id);
-- One claim per recipient reference within an order.
CREATE UNIQUE INDEX claims_recipient ON claims(order_id, recipient_ref) WHERE recipient_ref IS NOT NULL;
-- The expiry sweep reads only claims still open.
CREATE INDEX claims_open_expiry ON claims(expires_at) WHERE status = 'unclaimed';
