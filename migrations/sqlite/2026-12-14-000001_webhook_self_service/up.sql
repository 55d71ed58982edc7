-- Self-service webhooks: what an account chose to receive and the secret it is rotating away
-- from. One row per account that changed anything; no row means every event type and a single
-- signing secret (the account's current one, kept beside its URL).
CREATE TABLE webhook_settings (
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    -- JSON array of event types; NULL means every type, including ones added later.
    event_types TEXT,
    -- The secret before the last rotation, sealed like the current one; it signs beside the
    -- new one until previous_secret_until (unix ms), then never again.
    previous_secret_enc TEXT,
    previous_secret_until BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (owner_kind, owner_id)
);

-- An account lists its own deliveries newest first (events grow by one row per order).
CREATE INDEX events_owner ON events(owner_kind, owner_id, id);
