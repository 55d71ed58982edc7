-- stock.low on days of cover. A background refresh stores how many units the forecast expects
-- to sell within KAMENG_STOCK_LOW_DAYS, so the order path compares against the product row it
-- already loads instead of forecasting per order. NULL: no forecast yet or no sales expected.
ALTER TABLE products ADD COLUMN cover_units BIGINT;
-- When stock.low was sent for the current low spell (unix ms); NULL while stock is healthy.
-- Fire once per spell: set when sending, cleared when stock is back at the threshold.
ALTER TABLE products ADD COLUMN stock_low_at BIGINT;
