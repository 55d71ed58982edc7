CREATE INDEX orders_reseller_created ON orders(reseller_id, created_at);
