"""SPEC.md's request signing, shared by the fuzzing seed script and the Schemathesis hook."""

import hashlib
import hmac
import secrets
import time


def signed_headers(key_id: str, secret: str, method: str, path_url: str, body: bytes) -> dict:
    """The four X-Kameng-* headers for a request; `path_url` is the path and query as sent."""
    path, _, query = path_url.partition("?")
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(12)
    string_to_sign = "\n".join(
        [method.upper(), path, query, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    )
    signature = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Kameng-Key": key_id,
        "X-Kameng-Timestamp": timestamp,
        "X-Kameng-Nonce": nonce,
        "X-Kameng-Signature": signature,
    }
