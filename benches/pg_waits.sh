#!/usr/bin/env bash
# What PostgreSQL's backends wait on while a load runs: samples pg_stat_activity every 10 ms and
# prints the share of active-backend samples per wait event (CPU = no wait event). A profile of
# lock waits without extensions or a server restart.
#   bash benches/pg_waits.sh [postgres://postgres@127.0.0.1:5432/db] [seconds=10]
set -euo pipefail
URL=${1:-postgres://postgres@127.0.0.1:5432/test}
SECS=${2:-10}
end=$((SECONDS + SECS))
while [ $SECONDS -lt $end ]; do
  echo "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
        WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid();"
  echo "SELECT pg_sleep(0.01);"
done | psql "$URL" -At -q | grep -v '^$' | sort | uniq -c | sort -rn |
  awk '{ n[NR] = $1; w[NR] = $2; t += $1 } END { for (i = 1; i <= NR; i++) printf "%6.1f%%  %s\n", 100 * n[i] / t, w[i] }'
