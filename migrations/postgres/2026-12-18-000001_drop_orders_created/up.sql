-- No query reads orders by creation time alone (lists page by id, a UUIDv7; spend limits read
-- (reseller_id, created_at) and (key_id, created_at)): one index fewer for every order to write.
DROP INDEX orders_created;
