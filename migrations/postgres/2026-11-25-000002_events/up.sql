-- Delivery bookkeeping for the outbox: a lease so one worker (of possibly several instances)
-- owns an attempt, and one row per attempt.
ALTER TABLE events ADD COLUMN locked_until BIGINT;

CREATE TABLE event_attempts (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events(id),
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX event_attempts_event ON event_attempts(event_id, id);

-- Direct top-ups wait for the supplier until a deadline.
ALTER TABLE orders ADD COLUMN deadline_at BIGINT;
ALTER TABLE orders ADD COLUMN result_message TEXT;
CREATE INDEX orders_processing ON orders(deadline_at) WHERE status = 'processing';
