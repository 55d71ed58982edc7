DROP INDEX orders_processing;
ALTER TABLE orders DROP COLUMN result_message;
ALTER TABLE orders DROP COLUMN deadline_at;
DROP TABLE event_attempts;
ALTER TABLE events DROP COLUMN locked_until;
