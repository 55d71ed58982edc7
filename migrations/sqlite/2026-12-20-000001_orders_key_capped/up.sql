-- A key's daily spend cap sums that key's orders of the day. Only orders placed with a capped
-- key are indexed for it now (a key's cap is set when the key is made, for good): every other
-- order wrote a tail page of orders_key_created per key per group commit on SQLite, 11 of the
-- 108 pages a C=16 commit wrote.
ALTER TABLE orders ADD COLUMN key_capped BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE orders SET key_capped = TRUE
    WHERE key_id IN (SELECT key_id FROM api_keys WHERE daily_spend_limit IS NOT NULL);
DROP INDEX orders_key_created;
CREATE INDEX orders_key_capped ON orders(key_id, created_at) WHERE key_capped;
