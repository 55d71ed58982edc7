"""Seeds a fresh kameng through its admin API for the generated-client runs in .ci/contract and
prints the reseller's credentials as KEY=value lines (for `set -a; source`).

A supplier with a stocked card product in CNY and one in USD (which the CNY reseller's listing
must mark `purchasable: false`), and a reseller with a CNY balance.

usage: contract-seed.py BASE_URL ADMIN_USER ADMIN_PASSWORD
"""

import json
import sys
import urllib.request

from kameng_signing import signed_headers

base, user, password = sys.argv[1:4]


def call(method, path, body=None, headers=None):
    raw = json.dumps(body).encode() if body is not None else b""
    req = urllib.request.Request(base + path, data=raw if body is not None else None, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=30) as res:
        text = res.read()
    return json.loads(text) if text else None


token = call("POST", "/v1/admin/login", {"username": user, "password": password})["token"]
admin = {"Authorization": f"Bearer {token}"}
supplier = call("POST", "/v1/admin/suppliers", {"name": "Client Run Supplier"}, admin)
reseller = call("POST", "/v1/admin/resellers", {"name": "Client Run Shop"}, admin)
call("POST", f"/v1/admin/resellers/{reseller['id']}/credit", {"amount": 100_000, "memo": "client run"}, admin)
sk = supplier["api_key"]
for sku, currency in [("USD-GIFT-10", "USD"), ("STEAM-50", "CNY")]:
    product = call("POST", "/v1/admin/products", {
        "sku": sku, "name": f"Gift card {sku}", "category": "gift", "supplier_id": supplier["id"],
        "face_value": 5000, "cost": 4500, "price": 5000, "delivery": "card", "currency": currency,
    }, admin)
    path = f"/v1/supplier/products/{product['id']}/cards"
    body = {"cards": [{"code": f"{sku}-{n:04d}", "secret": f"PIN{n}"} for n in range(10)]}
    raw = json.dumps(body).encode()
    call("POST", path, body, signed_headers(sk["key_id"], sk["secret"], "POST", path, raw))

print(f"KAMENG_URL={base}")
print(f"KAMENG_KEY_ID={reseller['api_key']['key_id']}")
print(f"KAMENG_SECRET={reseller['api_key']['secret']}")
print(f"KAMENG_WEBHOOK_SECRET={reseller['webhook_secret']}")
