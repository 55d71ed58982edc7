"""Schemathesis hooks for kameng (loaded through SCHEMATHESIS_HOOKS=hooks by .ci/api-fuzz).

Auth: every generated request is signed exactly as SPEC.md says, over the bytes actually sent
(a `requests` auth object runs on the prepared request, after the body is serialised):
  /v1/admin/login    nothing
  /v1/admin/...      Authorization: Bearer <token of the bootstrap admin>
  /v1/supplier/...   the supplier key's X-Kameng-* headers
  other /v1/...      the reseller key's X-Kameng-* headers
Schemathesis drops this auth on its own probes (`ignored_auth`), which must then be refused.

Data: half of the generated path parameters and some body fields are swapped for real ids from
the seed (tests/schemathesis/seed.py), so the fuzzer reaches handlers past "not found". Admin
paths get their own targets, so that suspending or revoking there cannot lock the fuzzed
reseller and supplier out.
"""

import base64
import hashlib
import json
import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import schemathesis
from hypothesis import strategies as st

from kameng_signing import signed_headers

with open(os.environ["KAMENG_FUZZ_CREDENTIALS"]) as f:
    CREDS = json.load(f)
BASE = os.environ["KAMENG_FUZZ_BASE"]
IDS = CREDS["ids"]
ADMIN_IDS = CREDS["admin_ids"]

_login = requests.post(
    BASE + "/v1/admin/login",
    json={"username": CREDS["admin_user"], "password": CREDS["admin_password"]},
    timeout=30,
)
_login.raise_for_status()
ADMIN_TOKEN = _login.json()["token"]


def _cursor(value):
    """Cursors are opaque tokens the server issued (base64url of an id or a number); a random
    string is rightly refused with 422. Turn generated strings into well-formed cursors (of a
    number, which every list accepts), so the lists' paging is fuzzed rather than refused."""
    if not isinstance(value, str) or value == "":
        return value
    number = str(int(hashlib.sha256(value.encode()).hexdigest()[:12], 16))
    return base64.urlsafe_b64encode(number.encode()).decode().rstrip("=")


def _integers(value):
    """JSON Schema counts 1.0 as an integer; kameng, whose money is integer minor units and
    never floats, refuses it. Send integral values as integers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integers(v) for v in value]
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    return value


# Callback URLs must be absolute http(s) URLs, which JSON Schema cannot state exactly; their
# syntax, CR/LF injection and SSRF targets are covered by tests/api/abuse.rs.
URL_FIELDS = ("notify_url", "webhook_url")
CALLBACK = "https://callbacks.example.com/kameng"


def _fix_up(r: requests.PreparedRequest) -> bytes:
    """The request as kameng's contract means it (see `_cursor`, `_integers`, URL_FIELDS);
    runs on every request of every phase. Returns the body bytes that will be sent."""
    parts = urlsplit(r.url)
    if "cursor=" in parts.query:
        query = [(k, _cursor(v) if k == "cursor" else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        r.url = urlunsplit(parts._replace(query=urlencode(query)))
    body = r.body
    if body is None:
        return b""
    if isinstance(body, str):
        # Sign and send the same bytes (http.client would encode a str body as Latin-1).
        body = body.encode("utf-8")
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        doc = _integers(doc)
        doc = {k: (CALLBACK if k in URL_FIELDS and isinstance(v, str) else v) for k, v in doc.items()}
        body = json.dumps(doc).encode("utf-8")
    r.body = body
    r.prepare_content_length(body)
    return body


class KamengAuth(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        path = r.path_url.partition("?")[0]
        if path == "/v1/admin/login" or not path.startswith("/v1/"):
            return r
        body = _fix_up(r)
        if path.startswith("/v1/admin/"):
            r.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            return r
        key = CREDS["supplier"] if path.startswith("/v1/supplier/") else CREDS["reseller"]
        r.headers.update(signed_headers(key["key_id"], key["secret"], r.method, r.path_url, body))
        return r


schemathesis.auth.set_from_requests(KamengAuth())


def _path_ids(path: str) -> dict:
    """Real values for the path parameters of `path`."""
    if path.startswith("/v1/admin/"):
        a = ADMIN_IDS
        if path.startswith("/v1/admin/resellers/"):
            return {"id": a["reseller_id"], "product_id": a["product_id"]}
        if path.startswith("/v1/admin/suppliers/"):
            return {"id": a["supplier_id"]}
        if path.startswith("/v1/admin/products/"):
            return {"id": a["product_id"], "batch_ref": a["batch_ref"]}
        if path.startswith("/v1/admin/categories/"):
            return {"id": a["category_id"]}
        if path.startswith("/v1/admin/levels/"):
            return {"name": a["level"]}
        if path.startswith("/v1/admin/keys/"):
            return {"key_id": a["key_id"]}
        if path.startswith("/v1/admin/tickets/"):
            return {"id": IDS["ticket_id"]}
        if path.startswith("/v1/admin/licences/"):
            return {"id": IDS["licence_id"]}
        if path.startswith("/v1/admin/webhooks/"):
            return {"id": a["event_id"]}
        return {}
    if path.startswith("/v1/orders/"):
        return {"id": IDS["order_id"]}
    if path.startswith("/v1/tickets/") or path.startswith("/v1/supplier/tickets/"):
        return {"id": IDS["ticket_id"]}
    if path.startswith("/v1/keys/"):
        return {"key_id": IDS["key_id"]}
    if path.startswith("/v1/products/") or path.startswith("/v1/supplier/products/"):
        return {"id": IDS["product_id"]}
    if path.startswith("/v1/sub-resellers/"):
        return {"id": IDS["sub_reseller_id"]}
    if path.startswith("/v1/supplier/orders/"):
        return {"id": IDS["direct_order_id"]}
    return {}


@schemathesis.hook
def before_generate_path_parameters(context, strategy):
    real = _path_ids(context.operation.path)
    if not real:
        return strategy

    def swap(params):
        if not isinstance(params, dict):
            return params
        return {k: real.get(k, v) for k, v in params.items()}

    return st.one_of(strategy, strategy.map(swap))


def _body_ids(path: str) -> dict:
    if path.startswith("/v1/admin/"):
        return {"supplier_id": ADMIN_IDS["supplier_id"], "product_id": ADMIN_IDS["product_id"]}
    return {"product_id": IDS["product_id"], "order_id": IDS["order_id"]}


@schemathesis.hook
def before_generate_body(context, strategy):
    real = _body_ids(context.operation.path)

    def swap(body):
        if not isinstance(body, dict):
            return body
        return {k: (real[k] if k in real and isinstance(v, str) else v) for k, v in body.items()}

    return st.one_of(strategy, strategy.map(swap))
