ALTER TABLE products DROP COLUMN stock_low_at;
ALTER TABLE products DROP COLUMN cover_units;
