-- The minimal write set of one order on PostgreSQL, for pgbench -M prepared: claim a card (SKIP
-- LOCKED), guarded debit of one of 100 resellers, order row, three ledger lines, outbox row.
-- No advisory lock, chain head or stock counter: the reference kameng's order path is compared to.
-- The claim reads the partial index `cards_available` as kameng's does (see inventory::claim_cards:
-- `product_id = … ORDER BY id` makes the planner walk the primary key past every sold card).
-- `benches/pgbench.sh … minimal-pk` (pgbench -D pk=1) runs the earlier claim, with that walk.
-- Run by benches/pgbench.sh (4th argument `minimal`), which seeds `pgb-product`, the resellers
-- `pgb-reseller-1..100` and the audit_chain record seq 1 that every ledger line references.
-- n spans the bigint range so order and event ids never collide (a duplicate aborts the client).
-- Accounts are split at ':' because pgbench reads ':name' as a variable even inside quotes.
\set n random(1, 9000000000000000000)
\set r random(1, 100)
BEGIN;
\if :pk
UPDATE cards SET status = 'sold', order_id = 'pgb-' || :client_id || '-' || :n, sold_at = 0
  WHERE id = (SELECT id FROM cards WHERE product_id = 'pgb-product' AND status = 'available'
              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED);
\else
UPDATE cards SET status = 'sold', order_id = 'pgb-' || :client_id || '-' || :n, sold_at = 0
  WHERE id = (SELECT id FROM cards WHERE product_id >= 'pgb-product' AND product_id <= 'pgb-product'
              AND status = 'available' ORDER BY product_id, id LIMIT 1 FOR UPDATE SKIP LOCKED);
\endif
UPDATE resellers SET balance = balance - 100 WHERE id = 'pgb-reseller-' || :r AND balance >= 100;
INSERT INTO orders (id, reseller_id, key_id, out_trade_no, product_id, supplier_id, quantity, unit_price,
  amount, cost_amount, currency, status, request_hash, receipt, ledger_seq, created_at, completed_at)
  VALUES ('pgb-' || :client_id || '-' || :n, 'pgb-reseller-' || :r, 'pgb', 'pgb-' || :client_id || '-' || :n,
  'pgb-product', 'pgb-supplier', 1, 100, 100, 90, 'CNY', 'delivered', 'h', 'r', 1, 0, 0);
INSERT INTO ledger_entries (txn_seq, account, amount, currency, balance_after, created_at) VALUES
  (1, 'reseller:' || 'pgb-reseller-' || :r, -100, 'CNY', NULL, 0),
  (1, 'supplier:' || 'pgb-supplier', 90, 'CNY', NULL, 0),
  (1, 'platform:' || 'revenue', 10, 'CNY', NULL, 0);
INSERT INTO events (id, event_type, owner_kind, owner_id, url, payload, status, attempts, next_attempt_at, created_at)
  VALUES ('pgb-evt-' || :client_id || '-' || :n, 'order.delivered', 'reseller', 'pgb-reseller-' || :r, NULL, '{}',
  'skipped', 0, 0, 0);
COMMIT;
