-- One order's statements, as kameng's order transaction runs them on PostgreSQL, for pgbench:
-- idempotency lookup, product and buyer reads, card claim and mark in one statement (SKIP
-- LOCKED), guarded balance debit, the unsealed audit record (sequence, no lock) with three
-- ledger entries, the order row, the pending sale (no stock counter or rollup row is updated),
-- the outbox row. 16 resellers buy one product, as in the load tool. (Price and spend-limit
-- reads are left out.) Run by benches/pgbench.sh, which seeds `pgb-product` and
-- `pgb-reseller-1..100`.
\set n random(1, 9000000000000000000)
\set r random(1, 16)
BEGIN;
SELECT id FROM orders WHERE reseller_id = 'pgb-reseller-' || :r AND out_trade_no = 'pgb-' || :n;
SELECT id, supplier_id, price, cost, currency, delivery, status, stock FROM products WHERE id = 'pgb-product';
SELECT balance, notify_url, currency FROM resellers WHERE id = 'pgb-reseller-' || :r;
UPDATE cards SET status = 'sold', order_id = 'pgb-' || :client_id || '-' || :n, sold_at = 0
  WHERE id IN (SELECT id FROM cards WHERE product_id = 'pgb-product' AND status = 'available'
               ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id, code_enc;
UPDATE resellers SET balance = balance - 100 WHERE id = 'pgb-reseller-' || :r AND balance - 100 >= 0
  RETURNING balance;
INSERT INTO audit_chain (kind, actor, action, subject, detail, created_at, prev_hash, hash)
  VALUES ('ledger', 'key-pgb', 'order.purchase', 'pgb-' || :client_id || '-' || :n, '{}', 0, '', '')
  RETURNING seq AS seq \gset
INSERT INTO ledger_entries (txn_seq, account, amount, currency, balance_after, created_at) VALUES
  (:seq, 'reseller:' || 'pgb-reseller-' || :r, -100, 'CNY', 0, 0),
  (:seq, 'supplier:' || 'pgb-supplier', 90, 'CNY', NULL, 0),
  (:seq, 'platform:' || 'revenue', 10, 'CNY', NULL, 0);
INSERT INTO orders (id, reseller_id, key_id, out_trade_no, product_id, supplier_id, quantity, unit_price,
  amount, cost_amount, currency, status, request_hash, receipt, ledger_seq, created_at, completed_at)
  VALUES ('pgb-' || :client_id || '-' || :n, 'pgb-reseller-' || :r, 'pgb', 'pgb-' || :client_id || '-' || :n,
  'pgb-product', 'pgb-supplier', 1, 100, 100, 90, 'CNY', 'delivered', 'h', 'r', :seq, 0, 0);
INSERT INTO pending_sales (sale_at, reseller_id, product_id, region, currency, order_count, units, amount,
  cost, refunded_count, refunded_units, refunded_amount, refunded_cost, stock_delta)
  VALUES (0, 'pgb-reseller-' || :r, 'pgb-product', '', 'CNY', 1, 1, 100, 90, 0, 0, 0, 0, -1);
INSERT INTO events (id, event_type, owner_kind, owner_id, url, payload, status, attempts, next_attempt_at, created_at)
  VALUES ('pgb-evt-' || :client_id || '-' || :n, 'order.delivered', 'reseller', 'pgb-reseller-' || :r, NULL, '{}',
  'skipped', 0, 0, 0);
COMMIT;
