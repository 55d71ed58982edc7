// A purchase through types generated from kameng's OpenAPI document (openapi-typescript) and
// openapi-fetch: list products, buy one code, read the order back, verify the receipt against
// the published keys and the order's signed callback. The only hand-written piece is the
// signing middleware (signing.ts).
//
//   npm ci && KAMENG_URL=... npm run generate && npm run build
//   KAMENG_URL=... KAMENG_KEY_ID=... KAMENG_SECRET=... KAMENG_WEBHOOK_SECRET=... npm run purchase
//
// CI runs it against a live server (.ci/contract).
import { createHash, createPublicKey, verify, type JsonWebKey } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import createClient from "openapi-fetch";

import type { paths } from "./kameng-api.js";
import { signing, verifyEvent } from "./signing.js";

const env = (name: string): string => process.env[name] ?? (() => { throw new Error(`${name} is not set`); })();
const baseUrl = env("KAMENG_URL");

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`check failed: ${what}`);
}

// A receiver for the order's callback: its signature header and raw body.
const receiver = createServer();
const callback = new Promise<{ signature: string; body: Buffer }>((resolve) => {
  receiver.on("request", async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    res.writeHead(204).end();
    resolve({ signature: String(req.headers["x-kameng-signature"]), body: Buffer.concat(chunks) });
  });
});
receiver.listen(0, "127.0.0.1");
await once(receiver, "listening");
const port = (receiver.address() as AddressInfo).port;

const api = createClient<paths>({ baseUrl });
api.use(signing(env("KAMENG_KEY_ID"), env("KAMENG_SECRET")));

// 1. The catalogue: every product says whether this reseller can buy it now, and why not.
const listed = await api.GET("/v1/products");
if (!listed.data) throw new Error(`listProducts: ${JSON.stringify(listed.error)}`);
for (const p of listed.data.data) {
  console.log(`${p.sku.padEnd(14)} ${String(p.price).padStart(6)} ${p.currency}  stock ${p.stock}  ${p.purchasable ? "buyable" : p.unpurchasable_reason}`);
}
const product = listed.data.data.find((p) => p.purchasable);
check(product !== undefined, "a purchasable product is listed");

// 2. Buy one code; the callback goes to the receiver above.
const created = await api.POST("/v1/orders", {
  body: { product_id: product.id, quantity: 1, out_trade_no: `TS-${Date.now()}`, notify_url: `http://127.0.0.1:${port}/kameng` },
});
if (!created.data) throw new Error(`createOrder: ${JSON.stringify(created.error)}`);
const order = created.data;
const code = order.cards?.[0]?.code;
check(order.status === "delivered" && code !== undefined, "the order is delivered with a code");
console.log(`order ${order.id}: ${code}`);

// 3. Read it back.
const again = await api.GET("/v1/orders/{id}", { params: { path: { id: order.id } } });
check(again.data?.cards?.[0]?.code === code, "the order reads back with its code");

// 4. The receipt: an EdDSA JWT, verified with the keys the server publishes.
const [header, payload, sig] = order.receipt.split(".") as [string, string, string];
const { kid } = JSON.parse(Buffer.from(header, "base64url").toString());
const jwks = await api.GET("/.well-known/jwks.json");
const jwk = (jwks.data as { keys: (JsonWebKey & { kid: string })[] }).keys.find((k) => k.kid === kid);
check(jwk !== undefined, "the receipt's key is published");
const key = createPublicKey({ key: jwk, format: "jwk" });
check(verify(null, Buffer.from(`${header}.${payload}`), key, Buffer.from(sig, "base64url")), "receipt signature");
const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
const codeHash = createHash("sha256").update(code).digest("hex");
check(claims.iss === "kameng" && claims.sub === order.id && claims.codes[0] === codeHash, "receipt claims");
console.log("receipt verified");

// 5. The callback: signed with the account's webhook secret over the raw body.
const timeout = setTimeout(() => { throw new Error("no callback within 60 s"); }, 60_000);
const { signature, body } = await callback;
clearTimeout(timeout);
check(verifyEvent(env("KAMENG_WEBHOOK_SECRET"), signature, body), "callback signature");
const event = JSON.parse(body.toString());
check(event.type === "order.delivered" && event.data.order_id === order.id, "callback names the order");
console.log(`callback ${event.id} verified`);
receiver.close();
