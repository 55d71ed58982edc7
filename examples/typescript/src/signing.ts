// kameng's request signing (SPEC.md "Authentication") as an openapi-fetch middleware, and
// callback verification; node's crypto only.
//
//   const api = createClient<paths>({ baseUrl });
//   api.use(signing(keyId, secret));
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Middleware } from "openapi-fetch";

const sha256Hex = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** Lowercase hex HMAC-SHA256 of the string to sign. */
export function signature(
  secret: string, method: string, path: string, query: string, timestamp: string, nonce: string, body: Buffer,
): string {
  const stringToSign = [method.toUpperCase(), path, query, timestamp, nonce, sha256Hex(body)].join("\n");
  return createHmac("sha256", secret).update(stringToSign).digest("hex");
}

/** Signs each request as sent: the path and query as on the wire, and the exact body bytes. */
export function signing(keyId: string, secret: string): Middleware {
  return {
    async onRequest({ request }) {
      const body = Buffer.from(await request.clone().arrayBuffer());
      const url = new URL(request.url);
      const timestamp = Math.floor(Date.now() / 1000).toString();
      const nonce = randomBytes(12).toString("hex");
      const sig = signature(secret, request.method, url.pathname, url.search.slice(1), timestamp, nonce, body);
      request.headers.set("X-Kameng-Key", keyId);
      request.headers.set("X-Kameng-Timestamp", timestamp);
      request.headers.set("X-Kameng-Nonce", nonce);
      request.headers.set("X-Kameng-Signature", sig);
      return request;
    },
  };
}

/** Checks a callback's `X-Kameng-Signature: t=...,v1=...` over the raw body, and its age. */
export function verifyEvent(webhookSecret: string, header: string, body: Buffer, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = parts.get("t");
  const v1 = parts.get("v1");
  if (!t || !v1 || Math.abs(Date.now() / 1000 - Number(t)) > toleranceSeconds) return false;
  const mac = createHmac("sha256", webhookSecret).update(`${t}.`).update(body).digest();
  const given = Buffer.from(v1, "hex");
  return given.length === mac.length && timingSafeEqual(given, mac);
}
