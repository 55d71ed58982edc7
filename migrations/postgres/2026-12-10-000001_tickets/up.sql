-- After-sales tickets, supplier quality, cross-supplier duplicate flags.

-- A reseller's complaint about one card of an order (card_id) or the whole order (card_id NULL).
-- `units` is how many of the order's units it covers. Replacement cards are claimed for the
-- ticket: their cards.order_id is the ticket's id (tkt_...), so they never show up as extra
-- cards of the original order and are delivered exactly once like any card.
CREATE TABLE tickets (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders(id),
    reseller_id TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    card_id BIGINT REFERENCES cards(id),
    units BIGINT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT,
    status TEXT NOT NULL,
    resolution TEXT,
    response_message TEXT,
    memo TEXT,
    refund_amount BIGINT,
    sla_due_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,
    resolved_by TEXT
);
-- One ticket per card, and at most one whole-order ticket per order (the rest of that rule,
-- "a whole-order ticket excludes card tickets", is checked under the order's row lock).
CREATE UNIQUE INDEX tickets_card ON tickets(card_id) WHERE card_id IS NOT NULL;
CREATE UNIQUE INDEX tickets_whole_order ON tickets(order_id) WHERE card_id IS NULL;
CREATE INDEX tickets_order ON tickets(order_id);
CREATE INDEX tickets_reseller ON tickets(reseller_id, id);
CREATE INDEX tickets_supplier ON tickets(supplier_id, id);
CREATE INDEX tickets_status ON tickets(status, id);
-- The SLA sweep reads only tickets still waiting for the supplier.
CREATE INDEX tickets_sla ON tickets(sla_due_at) WHERE status IN ('open', 'awaiting_supplier');

-- Each push of a code another product already holds (resold codes are how fraud shows first).
CREATE TABLE duplicate_flags (
    id BIGSERIAL PRIMARY KEY,
    supplier_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    holder_product_id TEXT NOT NULL,
    holder_supplier_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX duplicate_flags_supplier ON duplicate_flags(supplier_id, id);
