-- One order's writes, as kameng's order transaction does them on PostgreSQL, for pgbench:
-- idempotency lock, claim a card (SKIP LOCKED), stock counter, guarded balance debit, chain head
-- lock, chained audit record with three ledger entries, order row, outbox row.
-- Run by benches/pgbench.sh, which seeds the product `pgb-product` and reseller `pgb-reseller`.
\set n random(1, 2000000000)
BEGIN;
SELECT pg_advisory_xact_lock(:n);
UPDATE cards SET status = 'sold', order_id = 'pgb-' || :client_id || '-' || :n, sold_at = 0
  WHERE id = (SELECT id FROM cards WHERE product_id = 'pgb-product' AND status = 'available'
              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED);
UPDATE products SET stock = stock - 1 WHERE id = 'pgb-product';
UPDATE resellers SET balance = balance - 100 WHERE id = 'pgb-reseller' AND balance >= 100;
UPDATE chain_head SET seq = seq + 1 WHERE id = 1 RETURNING seq AS seq \gset
INSERT INTO audit_chain (seq, kind, actor, action, subject, detail, created_at, prev_hash, hash)
  SELECT :seq, 'ledger', 'key:pgb', 'order.purchase', 'pgb-' || :client_id || '-' || :n, '{}', 0, hash, md5(hash) || md5(hash)
  FROM chain_head WHERE id = 1;
INSERT INTO ledger_entries (txn_seq, account, amount, currency, balance_after, created_at) VALUES
  (:seq, 'reseller:pgb-reseller', -100, 'CNY', 0, 0),
  (:seq, 'supplier:pgb-supplier', 90, 'CNY', NULL, 0),
  (:seq, 'platform:revenue', 10, 'CNY', NULL, 0);
UPDATE chain_head SET hash = md5(hash) || md5(hash) WHERE id = 1;
INSERT INTO orders (id, reseller_id, key_id, out_trade_no, product_id, supplier_id, quantity, unit_price,
  amount, cost_amount, currency, status, request_hash, receipt, ledger_seq, created_at, completed_at)
  VALUES ('pgb-' || :client_id || '-' || :n, 'pgb-reseller', 'pgb', 'pgb-' || :client_id || '-' || :n, 'pgb-product',
  'pgb-supplier', 1, 100, 100, 90, 'CNY', 'delivered', 'h', 'r', :seq, 0, 0);
INSERT INTO events (id, event_type, owner_kind, owner_id, url, payload, status, attempts, next_attempt_at, created_at)
  VALUES ('pgb-evt-' || :client_id || '-' || :n, 'order.delivered', 'reseller', 'pgb-reseller', NULL, '{}', 'skipped', 0, 0, 0);
COMMIT;
