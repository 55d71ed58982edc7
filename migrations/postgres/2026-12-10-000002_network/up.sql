-- Multi-level distribution: what a parent reseller adds on top of its own price when its
-- sub-resellers buy. A default for every product, and per-product overrides. Basis points.
CREATE TABLE network_markups (
    reseller_id TEXT PRIMARY KEY NOT NULL REFERENCES resellers(id),
    default_bps INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE network_product_markups (
    reseller_id TEXT NOT NULL REFERENCES resellers(id),
    product_id TEXT NOT NULL REFERENCES products(id),
    markup_bps INTEGER NOT NULL,
    PRIMARY KEY (reseller_id, product_id)
);

-- A parent lists its sub-resellers; re-parenting walks the subtree.
CREATE INDEX resellers_parent ON resellers(parent_id, id);
