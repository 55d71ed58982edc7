#!/usr/bin/env bash
# The PostgreSQL ceiling for kameng's order writes: pgbench runs one order's writes per
# transaction on a fresh database migrated by kameng. Script `order` (benches/pg_order.sql) is
# what the service writes; `minimal` (benches/pg_minimal.sql) is the minimal write set.
#   bash benches/pgbench.sh [postgres://postgres@127.0.0.1:5432] [clients=16] [seconds=10] [order|minimal|minimal-pk]
set -euo pipefail
SERVER=${1:-postgres://postgres@127.0.0.1:5432}
CLIENTS=${2:-16}
SECS=${3:-10}
case ${4:-order} in
  order) SCRIPT=benches/pg_order.sql MODE=(-M prepared) ;;
  # Prepared, as kameng keeps its hot statements (db::stmt).
  minimal) SCRIPT=benches/pg_minimal.sql MODE=(-M prepared -D pk=0) ;;
  # The minimal set with the claim walking the primary key (the form measured before 2026-12-05).
  minimal-pk) SCRIPT=benches/pg_minimal.sql MODE=(-M prepared -D pk=1) ;;
  *) echo "script: order, minimal or minimal-pk, not '$4'" >&2; exit 2 ;;
esac
DB=kameng_pgbench_$$
cd "$(dirname "$0")/.."
psql "$SERVER/postgres" -qc "CREATE DATABASE $DB"
trap 'psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
KAMENG_DATABASE_URL="$SERVER/$DB" KAMENG_LOG=warn cargo run -q --release -- migrate >/dev/null
# pg_order.sql uses pgb-reseller-1..16 and appends records from the sequence; pg_minimal.sql uses
# pgb-reseller-1..100 and references the chain record seq 1.
psql "$SERVER/$DB" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO suppliers (id, name, webhook_secret_enc, status, created_at) VALUES ('pgb-supplier', 'pgb', 'x', 'active', 0);
INSERT INTO categories (id, name, licence_required, created_at) VALUES ('pgb-cat', 'pgb', false, 0);
INSERT INTO products (id, sku, name, category_id, supplier_id, face_value, cost, price, currency, delivery, status,
  min_quantity, max_quantity, stock, created_at, updated_at)
  VALUES ('pgb-product', 'PGB', 'pgb', 'pgb-cat', 'pgb-supplier', 100, 90, 100, 'CNY', 'card', 'on_sale', 1, 100, 1000000, 0, 0);
INSERT INTO resellers (id, name, level, webhook_secret_enc, currency, balance, created_at)
  VALUES ('pgb-reseller', 'pgb', 'default', 'x', 'CNY', 100000000000, 0);
INSERT INTO resellers (id, name, level, webhook_secret_enc, currency, balance, created_at)
  SELECT 'pgb-reseller-' || g, 'pgb', 'default', 'x', 'CNY', 100000000000, 0 FROM generate_series(1, 100) g;
INSERT INTO audit_chain (seq, kind, actor, action, subject, detail, created_at, prev_hash, hash)
  VALUES (1, 'ledger', 'key:pgb', 'order.purchase', 'pgb', '{}', 0, repeat('0', 64), md5('pgb') || md5('pgb'));
UPDATE chain_head SET seq = 1, hash = md5('pgb') || md5('pgb') WHERE id = 1;
SELECT setval('audit_chain_seq', 2, false);
INSERT INTO cards (product_id, supplier_id, code_hash, code_enc, status, created_at)
  SELECT 'pgb-product', 'pgb-supplier', md5(g::text), 'sealed', 'available', 0 FROM generate_series(1, 1000000) g;
ANALYZE;
SQL
pgbench -n -c "$CLIENTS" -j 2 -T "$SECS" "${MODE[@]}" -f "$SCRIPT" "$SERVER/$DB" | grep -E "tps|latency|transactions actually|failed"
