<?php
// A purchase from PHP with nothing but its own hash_hmac, curl and sodium: list products, buy
// one code, read the order back, verify the receipt against the published keys. Signing and
// callback verification as SPEC.md "Authentication" and "Outbound events" specify.
//
//   KAMENG_URL=... KAMENG_KEY_ID=... KAMENG_SECRET=... php purchase.php
//
// The test examples::the_php_example_buys_a_code runs it against a live server.

declare(strict_types=1);

function env(string $name): string {
    $v = getenv($name);
    if ($v === false || $v === '') { fwrite(STDERR, "$name is not set\n"); exit(2); }
    return $v;
}

// One signed request; returns [status, decoded JSON body].
function kameng(string $method, string $pathAndQuery, ?array $body = null): array {
    $raw = $body === null ? '' : json_encode($body, JSON_UNESCAPED_SLASHES);
    [$path, $query] = array_pad(explode('?', $pathAndQuery, 2), 2, '');
    $ts = (string) time();
    $nonce = bin2hex(random_bytes(12));
    $toSign = implode("\n", [strtoupper($method), $path, $query, $ts, $nonce, hash('sha256', $raw)]);
    $headers = [
        'X-Kameng-Key: ' . env('KAMENG_KEY_ID'),
        "X-Kameng-Timestamp: $ts",
        "X-Kameng-Nonce: $nonce",
        'X-Kameng-Signature: ' . hash_hmac('sha256', $toSign, env('KAMENG_SECRET')),
        'Content-Type: application/json',
    ];
    $ch = curl_init(rtrim(env('KAMENG_URL'), '/') . $pathAndQuery);
    curl_setopt_array($ch, [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_HTTPHEADER => $headers,
        CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 30]);
    if ($body !== null) { curl_setopt($ch, CURLOPT_POSTFIELDS, $raw); }
    $res = curl_exec($ch);
    if ($res === false) { throw new RuntimeException('curl: ' . curl_error($ch)); }
    return [curl_getinfo($ch, CURLINFO_RESPONSE_CODE), json_decode($res, true)];
}

// A callback's X-Kameng-Signature (t=...,v1=...) over the raw body.
function verify_event(string $webhookSecret, string $header, string $body, int $tolerance = 300): bool {
    parse_str(str_replace(',', '&', $header), $parts);
    if (!isset($parts['t'], $parts['v1']) || abs(time() - (int) $parts['t']) > $tolerance) { return false; }
    return hash_equals(hash_hmac('sha256', $parts['t'] . '.' . $body, $webhookSecret), $parts['v1']);
}

function b64url_decode(string $s): string {
    return base64_decode(strtr($s, '-_', '+/') . str_repeat('=', (4 - strlen($s) % 4) % 4));
}

function check(bool $ok, string $what): void {
    if (!$ok) { fwrite(STDERR, "check failed: $what\n"); exit(1); }
}

// 1. The catalogue: every product says whether this reseller can buy it now, and why not.
[$status, $page] = kameng('GET', '/v1/products?limit=50');
check($status === 200, "listProducts answered $status");
foreach ($page['data'] as $p) {
    printf("%-14s %6d %s  stock %s  %s\n", $p['sku'], $p['price'], $p['currency'], $p['stock'] ?? '-',
        $p['purchasable'] ? 'buyable' : $p['unpurchasable_reason']);
}
$buyable = array_values(array_filter($page['data'], fn ($p) => $p['purchasable']));
check($buyable !== [], 'a purchasable product is listed');

// 2. Buy one code.
[$status, $order] = kameng('POST', '/v1/orders',
    ['product_id' => $buyable[0]['id'], 'quantity' => 1, 'out_trade_no' => 'PHP-' . bin2hex(random_bytes(6))]);
check($status === 201 && $order['status'] === 'delivered', "createOrder answered $status");
$code = $order['cards'][0]['code'];
echo "order {$order['id']}: $code\n";

// 3. Read it back.
[$status, $again] = kameng('GET', '/v1/orders/' . rawurlencode($order['id']));
check($status === 200 && $again['cards'][0]['code'] === $code, 'getOrder returns the code');

// 4. The receipt: an EdDSA JWT; its key is in the published JWKS.
[$header, $payload, $sig] = explode('.', $order['receipt']);
$kid = json_decode(b64url_decode($header), true)['kid'];
$jwks = json_decode(file_get_contents(rtrim(env('KAMENG_URL'), '/') . '/.well-known/jwks.json'), true);
$jwk = array_values(array_filter($jwks['keys'], fn ($k) => $k['kid'] === $kid))[0];
check(sodium_crypto_sign_verify_detached(b64url_decode($sig), "$header.$payload", b64url_decode($jwk['x'])),
    'receipt signature');
$claims = json_decode(b64url_decode($payload), true);
check($claims['sub'] === $order['id'] && $claims['codes'] === [hash('sha256', $code)], 'receipt claims');
echo "receipt verified\n";

// 5. Callbacks: SPEC.md's test vector (a shop's endpoint calls verify_event on each POST).
$vector = '{"id":"evt_01","type":"order.delivered","created_at":"2026-01-01T00:00:00Z","data":{"order_id":"ord_01"}}';
check(verify_event('whsec_test_8d1c', 't=1767225600,v1=f550b86bf76e682a9ac6df3d9693ecd802c7489bfeace54757d4d36590b0d4f8',
    $vector, PHP_INT_MAX), 'callback signature test vector');
echo "callback verification checked\n";
