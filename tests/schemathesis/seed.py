"""Seeds a fresh kameng for fuzzing through its admin API and prints the credentials as JSON.

A supplier with a stocked card product and a direct product, a reseller with a balance, an
order, a ticket, a sub-reseller and an extra key: real ids the hook can put into generated
requests so that the fuzzer reaches past "not found".

usage: seed.py BASE_URL ADMIN_USER ADMIN_PASSWORD
"""

import json
import sys

import requests

from kameng_signing import signed_headers

base, user, password = sys.argv[1:4]
http = requests.Session()


def admin(method, path, body=None):
    res = http.request(method, base + path, json=body, headers={"Authorization": f"Bearer {token}"})
    res.raise_for_status()
    return res.json() if res.content else None


def signed(key, method, path, body=None):
    raw = json.dumps(body).encode() if body is not None else b""
    headers = signed_headers(key["key_id"], key["secret"], method, path, raw)
    if body is not None:
        headers["Content-Type"] = "application/json"
    res = http.request(method, base + path, data=raw, headers=headers)
    res.raise_for_status()
    return res.json() if res.content else None


token = http.post(base + "/v1/admin/login", json={"username": user, "password": password}).json()["token"]
supplier = admin("POST", "/v1/admin/suppliers", {"name": "Fuzz Supplier"})
reseller = admin("POST", "/v1/admin/resellers", {"name": "Fuzz Shop"})
admin("POST", f"/v1/admin/resellers/{reseller['id']}/credit", {"amount": 100_000_000, "memo": "fuzzing"})
card = admin("POST", "/v1/admin/products", {
    "sku": "FUZZ-CARD", "name": "Fuzz card", "category": "fuzz", "supplier_id": supplier["id"],
    "face_value": 100, "cost": 80, "price": 100, "delivery": "card", "max_quantity": 100,
})
direct = admin("POST", "/v1/admin/products", {
    "sku": "FUZZ-DIRECT", "name": "Fuzz top-up", "category": "fuzz", "supplier_id": supplier["id"],
    "face_value": 100, "cost": 80, "price": 100, "delivery": "direct", "topup_fields": ["account"],
})
sk, rk = supplier["api_key"], reseller["api_key"]
signed(sk, "POST", f"/v1/supplier/products/{card['id']}/cards",
       {"cards": [{"code": f"FUZZ-{n:06d}", "secret": f"PIN{n}"} for n in range(2000)], "batch_ref": "fuzz-1"})
order = signed(rk, "POST", "/v1/orders", {"product_id": card["id"], "quantity": 2, "out_trade_no": "FUZZ-SEED-1"})
topup = signed(rk, "POST", "/v1/orders", {"product_id": direct["id"], "quantity": 1, "out_trade_no": "FUZZ-SEED-2",
                                          "topup": {"account": "player-1"}})
ticket = signed(rk, "POST", "/v1/tickets", {"order_id": order["id"], "reason": "invalid_code",
                                             "card_code": order["cards"][0]["code"]})
sub = signed(rk, "POST", "/v1/sub-resellers", {"name": "Fuzz Sub"})
extra = signed(rk, "POST", "/v1/keys", {"name": "fuzz-bot", "scopes": ["catalog:read"]})
licence = signed(sk, "POST", "/v1/supplier/licences", {"reference": "LIC-1", "issuer": "Fuzz Authority",
                                                       "expires_at": "2099-01-01T00:00:00Z"})

# Objects the admin endpoints may change freely (suspend, re-price, withdraw, revoke) without
# cutting off the fuzzed reseller and supplier above.
victim_supplier = admin("POST", "/v1/admin/suppliers", {"name": "Admin Target Supplier"})
victim_reseller = admin("POST", "/v1/admin/resellers", {
    "name": "Admin Target Shop", "notify_url": "http://127.0.0.1:9/unreachable"})
admin("POST", f"/v1/admin/resellers/{victim_reseller['id']}/credit", {"amount": 1_000_000})
victim_product = admin("POST", "/v1/admin/products", {
    "sku": "FUZZ-ADMIN", "name": "Admin target card", "category": "fuzz-admin",
    "supplier_id": victim_supplier["id"], "face_value": 100, "cost": 80, "price": 100, "delivery": "card",
})
vk = victim_supplier["api_key"]
signed(vk, "POST", f"/v1/supplier/products/{victim_product['id']}/cards",
       {"cards": [{"code": f"FUZZ-ADMIN-{n:04d}"} for n in range(50)], "batch_ref": "fuzz-admin-1"})
victim_order = signed(victim_reseller["api_key"], "POST", "/v1/orders",
                      {"product_id": victim_product["id"], "quantity": 1, "out_trade_no": "FUZZ-ADMIN-1"})
victim_key = admin("POST", f"/v1/admin/resellers/{victim_reseller['id']}/keys")
categories = admin("GET", "/v1/admin/categories")
admin_category = next(c["id"] for c in categories if c["name"] == "fuzz-admin")
admin("PUT", "/v1/admin/levels/fuzz-level", {"discount_bps": 100})
events = admin("GET", "/v1/admin/webhooks?limit=1")["data"]

json.dump({
    "admin_user": user,
    "admin_password": password,
    "reseller": rk,
    "supplier": sk,
    "ids": {
        "reseller_id": reseller["id"],
        "supplier_id": supplier["id"],
        "product_id": card["id"],
        "direct_product_id": direct["id"],
        "order_id": order["id"],
        "direct_order_id": topup["id"],
        "ticket_id": ticket["id"],
        "sub_reseller_id": sub["id"],
        "key_id": extra["key_id"],
        "licence_id": licence["id"],
        "category": "fuzz",
    },
    "admin_ids": {
        "reseller_id": victim_reseller["id"],
        "supplier_id": victim_supplier["id"],
        "product_id": victim_product["id"],
        "order_id": victim_order["id"],
        "key_id": victim_key["key_id"],
        "category_id": admin_category,
        "level": "fuzz-level",
        "batch_ref": "fuzz-admin-1",
        "event_id": events[0]["id"] if events else "evt_none",
    },
}, sys.stdout)
