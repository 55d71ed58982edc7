"""After the fuzzing run: how much was exercised, and is the database still consistent?

Reads the server's own request counters (/metrics) against a snapshot taken before the run,
and fails unless: at least MIN_REQUESTS requests were made, every documented operation was
called, no request got a 5xx, the audit chain verifies and the books balance.

usage: after.py BASE_URL CREDENTIALS_JSON METRICS_BEFORE MIN_REQUESTS
"""

import json
import re
import sys
from collections import Counter

import requests

base, creds_path, before_path, min_requests = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
creds = json.load(open(creds_path))
LINE = re.compile(r'^kameng_http_requests_total\{(.*)\} (\d+)$')


def counters(text):
    out = Counter()
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[(labels["method"], labels["route"], labels["status"])] += int(m.group(2))
    return out


before = counters(open(before_path).read())
after = counters(requests.get(base + "/metrics", timeout=30).text)
delta = after - before
total = sum(delta.values())
by_status = Counter()
for (_, _, status), n in delta.items():
    by_status[status[0] + "xx"] += n
failures = []
print(f"fuzzing made {total} requests: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
if total < min_requests:
    failures.append(f"only {total} requests (want at least {min_requests})")
errors = {k: n for k, n in delta.items() if k[2].startswith("5")}
if errors:
    failures.append(f"server errors: {errors}")

spec = requests.get(base + "/openapi.json", timeout=30).json()
called = Counter()
for (method, route, _), n in delta.items():
    called[(method, route)] += n
missed = []
for path, item in spec["paths"].items():
    for method in ("get", "post", "put", "patch", "delete"):
        if method in item and called[(method.upper(), path)] == 0:
            missed.append(f"{method.upper()} {path}")
documented = [(m.upper(), p) for p, item in spec["paths"].items()
              for m in item if m in ("get", "post", "put", "patch", "delete")]
least = sorted(documented, key=lambda op: called[op])[:5]
print(f"operations called: {len(documented) - len(missed)} of {len(documented)}; least called: "
      + ", ".join(f"{m} {p} ({called[(m, p)]})" for m, p in least))
if missed:
    failures.append(f"operations never called: {missed}")

token = requests.post(base + "/v1/admin/login", json={"username": creds["admin_user"],
                                                     "password": creds["admin_password"]}, timeout=30).json()["token"]
auth = {"Authorization": f"Bearer {token}"}
chain = requests.get(base + "/v1/admin/audit/verify", headers=auth, timeout=120).json()
books = requests.get(base + "/v1/admin/ledger/check", headers=auth, timeout=120).json()
print(f"audit chain: {chain}")
print(f"books: balanced={books['balanced']} accounts={books['accounts_checked']} "
      f"entries={books['entries_checked']} totals={books['totals']}")
if not chain.get("ok"):
    failures.append(f"the audit chain does not verify: {chain}")
if not books.get("balanced"):
    failures.append(f"the books do not balance: {books}")

if failures:
    print("API fuzzing FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("API fuzzing: consistent afterwards")
