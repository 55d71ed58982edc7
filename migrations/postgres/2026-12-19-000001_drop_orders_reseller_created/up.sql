-- The unverified-reseller spend limit reads today's orders through orders_reseller
-- (reseller_id, id): an order id is a UUIDv7, time-ordered (see limits::spent_since). One
-- index tail fewer for every order to write (a page per reseller per group commit on SQLite).
DROP INDEX orders_reseller_created;
