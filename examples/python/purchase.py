"""A purchase through a client generated from kameng's OpenAPI document (openapi-python-client):
list products, buy one code, read the order back, verify the receipt against the published
keys and the order's signed callback. The only hand-written piece is the signing hook.

    openapi-python-client generate --url "$KAMENG_URL/openapi.json" --meta setup
    pip install ./kameng-client "pyjwt[crypto]"
    KAMENG_URL=... KAMENG_KEY_ID=... KAMENG_SECRET=... KAMENG_WEBHOOK_SECRET=... python purchase.py

CI runs it against a live server (.ci/contract).
"""

import hashlib
import json
import os
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
from kameng_client import Client
from kameng_client.api.catalogue import list_products
from kameng_client.api.orders import create_order, get_order
from kameng_client.models import OrderRequest

from kameng_signing import signing_hook, verify_event

url, key_id, secret = os.environ["KAMENG_URL"], os.environ["KAMENG_KEY_ID"], os.environ["KAMENG_SECRET"]
callbacks: queue.Queue = queue.Queue()


class Receiver(BaseHTTPRequestHandler):
    """Takes the order's callback: its signature header and raw body."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        callbacks.put((self.headers["X-Kameng-Signature"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


receiver = HTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()

client = Client(base_url=url, raise_on_unexpected_status=True,
                httpx_args={"event_hooks": {"request": [signing_hook(key_id, secret)]}})

# 1. The catalogue: every product says whether this reseller can buy it now, and why not.
products = list_products.sync(client=client).data
for p in products:
    print(f"{p.sku:14} {p.price:>6} {p.currency}  stock {p.stock}  "
          f"{'buyable' if p.purchasable else p.unpurchasable_reason}")
product = next(p for p in products if p.purchasable)

# 2. Buy one code; the callback goes to the receiver above.
order = create_order.sync(client=client, body=OrderRequest(
    product_id=product.id, quantity=1, out_trade_no=f"PY-{int(time.time() * 1000)}",
    notify_url=f"http://127.0.0.1:{receiver.server_port}/kameng"))
assert order.status == "delivered", order.status
code = order.cards[0].code
print(f"order {order.id}: {code}")

# 3. Read it back.
again = get_order.sync(client=client, id=order.id)
assert again.id == order.id and again.cards[0].code == code

# 4. The receipt: an EdDSA JWT, verified with the keys the server publishes.
jwks = jwt.PyJWKClient(f"{url}/.well-known/jwks.json")
claims = jwt.decode(order.receipt, jwks.get_signing_key_from_jwt(order.receipt), algorithms=["EdDSA"],
                    issuer="kameng")
assert claims["sub"] == order.id and claims["amount"] == order.amount
assert claims["codes"] == [hashlib.sha256(code.encode()).hexdigest()]
print("receipt verified")

# 5. The callback: signed with the account's webhook secret over the raw body.
signature, body = callbacks.get(timeout=60)
assert verify_event(os.environ["KAMENG_WEBHOOK_SECRET"], signature, body), "bad callback signature"
event = json.loads(body)
assert event["type"] == "order.delivered" and event["data"]["order_id"] == order.id, event
print(f"callback {event['id']} verified")
