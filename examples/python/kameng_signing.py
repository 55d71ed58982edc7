"""kameng's request signing (SPEC.md "Authentication") and callback verification, standard
library only. Used by the generated client through an httpx event hook, and by the repository's
fuzzing scripts (tests/schemathesis).

    client = Client(base_url=url, httpx_args={"event_hooks": {"request": [signing_hook(key_id, secret)]}})
"""

import hashlib
import hmac
import secrets
import time


def signature(secret: str, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the string to sign."""
    string_to_sign = "\n".join([method.upper(), path, query, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def signed_headers(key_id: str, secret: str, method: str, path_url: str, body: bytes) -> dict:
    """The four X-Kameng-* headers for a request; `path_url` is the path and query as sent."""
    path, _, query = path_url.partition("?")
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(12)
    return {
        "X-Kameng-Key": key_id,
        "X-Kameng-Timestamp": timestamp,
        "X-Kameng-Nonce": nonce,
        "X-Kameng-Signature": signature(secret, method, path, query, timestamp, nonce, body),
    }


def signing_hook(key_id: str, secret: str):
    """An httpx request event hook that signs each request as it is sent: the path and query
    exactly as on the wire (`raw_path`), and the body bytes httpx will send."""

    def sign(request) -> None:
        body = request.read()
        request.headers.update(signed_headers(key_id, secret, request.method, request.url.raw_path.decode(), body))

    return sign


def verify_event(webhook_secret: str, signature_header: str, body: bytes, tolerance: int = 300) -> bool:
    """Checks a callback's `X-Kameng-Signature: t=...,v1=...` over the raw body, and its age."""
    parts = dict(p.split("=", 1) for p in signature_header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts or abs(time.time() - int(parts["t"])) > tolerance:
        return False
    mac = hmac.new(webhook_secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"])
