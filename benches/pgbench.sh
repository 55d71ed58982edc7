#!/usr/bin/env bash
# The PostgreSQL ceiling for kameng's order writes: pgbench runs benches/pg_order.sql (one
# order's writes in one transaction) on a fresh database migrated by kameng.
#   bash benches/pgbench.sh [postgres://postgres@127.0.0.1:5432] [clients=16] [seconds=10]
set -euo pipefail
SERVER=${1:-postgres://postgres@127.0.0.1:5432}
CLIENTS=${2:-16}
SECS=${3:-10}
DB=kameng_pgbench_$$
cd "$(dirname "$0")/.."
psql "$SERVER/postgres" -qc "CREATE DATABASE $DB"
trap 'psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
KAMENG_DATABASE_URL="$SERVER/$DB" KAMENG_LOG=warn cargo run -q --release -- migrate >/dev/null
psql "$SERVER/$DB" -q <<SQL
INSERT INTO suppliers (id, name, webhook_secret_enc, status, created_at) VALUES ('pgb-supplier', 'pgb', 'x', 'active', 0);
INSERT INTO categories (id, name, licence_required, created_at) VALUES ('pgb-cat', 'pgb', false, 0);
INSERT INTO products (id, sku, name, category_id, supplier_id, face_value, cost, price, currency, delivery, status,
  min_quantity, max_quantity, stock, created_at, updated_at)
  VALUES ('pgb-product', 'PGB', 'pgb', 'pgb-cat', 'pgb-supplier', 100, 90, 100, 'CNY', 'card', 'on_sale', 1, 100, 1000000, 0, 0);
INSERT INTO resellers (id, name, level, webhook_secret_enc, currency, balance, created_at)
  VALUES ('pgb-reseller', 'pgb', 'default', 'x', 'CNY', 100000000000, 0);
INSERT INTO cards (product_id, supplier_id, code_hash, code_enc, status, created_at)
  SELECT 'pgb-product', 'pgb-supplier', md5(g::text), 'sealed', 'available', 0 FROM generate_series(1, 1000000) g;
ANALYZE;
SQL
pgbench -n -c "$CLIENTS" -j 2 -T "$SECS" -f benches/pg_order.sql "$SERVER/$DB" | grep -E "tps|latency|transactions actually"
