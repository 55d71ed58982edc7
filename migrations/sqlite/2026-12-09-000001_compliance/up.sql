-- Compliance: daily spend limits, real-name (KYC) details, supplier licences.

-- Spend limits sum today's orders of one reseller, or of one key, on every limited order.
CREATE INDEX orders_reseller_created ON orders(reseller_id, created_at);
CREATE INDEX orders_key_created ON orders(key_id, created_at);

-- A reseller's latest real-name submission, every field encrypted with the vault. The review
-- state itself is resellers.kyc_status.
CREATE TABLE kyc_submissions (
    reseller_id TEXT PRIMARY KEY NOT NULL REFERENCES resellers(id),
    legal_name_enc TEXT NOT NULL,
    id_number_enc TEXT NOT NULL,
    contact_enc TEXT NOT NULL,
    submitted_at BIGINT NOT NULL,
    reviewed_at BIGINT,
    reviewed_by TEXT
);

-- A supplier's proof of the right to distribute: one product, or all its products when
-- product_id is NULL. Sells only while approved and unexpired.
CREATE TABLE licences (
    id TEXT PRIMARY KEY NOT NULL,
    supplier_id TEXT NOT NULL REFERENCES suppliers(id),
    product_id TEXT REFERENCES products(id),
    reference TEXT NOT NULL,
    issuer TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    reviewed_at BIGINT,
    reviewed_by TEXT
);
CREATE INDEX licences_supplier ON licences(supplier_id, status);
CREATE INDEX licences_status ON licences(status, id);

-- Products the licence sweep took off sale, so that approving a licence covering them puts
-- them back on sale (and only them: a product an admin took off sale stays off).
CREATE TABLE licence_holds (
    product_id TEXT PRIMARY KEY NOT NULL REFERENCES products(id),
    held_at BIGINT NOT NULL
);
