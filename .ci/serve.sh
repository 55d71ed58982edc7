# Sourced by CI scripts that test against a live server (.ci/api-fuzz, .ci/contract): builds the
# debug binary and starts `kameng serve` on a fresh SQLite database in its own temp dir, with an
# admin account, no rate limits and fast webhook retries.
#
#   source .ci/serve.sh; serve_kameng   # sets WORK, BASE, ADMIN_USER, ADMIN_PASS, SERVER
#   ...                                  # the EXIT trap stops the server and removes WORK
#
# Extra settings for the server go in KAMENG_SERVE_ENV ("NAME=value NAME=value").

# The body of a GET, through python3 (on every CI machine; curl may not be yet).
http_get() {
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"
}

serve_kameng() {
  cargo build -q --bin kameng
  WORK="$(mktemp -d)"
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  BASE="http://127.0.0.1:$port"
  ADMIN_USER=ci
  ADMIN_PASS="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
  # shellcheck disable=SC2086 # KAMENG_SERVE_ENV is a list of words by design
  env KAMENG_BIND="127.0.0.1:$port" \
    KAMENG_DATABASE_URL="sqlite://$WORK/kameng.db" \
    KAMENG_DATA_DIR="$WORK" \
    KAMENG_BOOTSTRAP_ADMIN="$ADMIN_USER:$ADMIN_PASS" \
    KAMENG_RATE_LIMIT_PER_KEY=0 \
    KAMENG_LOGIN_RATE_LIMIT=0 \
    KAMENG_WEBHOOK_RETRY_SCHEDULE=1 \
    KAMENG_LOG=info \
    ${KAMENG_SERVE_ENV:-} \
    target/debug/kameng serve >"$WORK/server.log" 2>&1 &
  SERVER=$!
  trap stop_kameng EXIT
  for _ in $(seq 1 150); do
    http_get "$BASE/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "kameng did not become ready:"; tail -n 30 "$WORK/server.log"
  return 1
}

stop_kameng() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
