DROP INDEX orders_key_capped;
CREATE INDEX orders_key_created ON orders(key_id, created_at);
ALTER TABLE orders DROP COLUMN key_capped;
