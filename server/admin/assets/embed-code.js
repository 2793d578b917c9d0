// What the admin console's embed page writes for a host developer: the page snippet (four
// ways of embedding) and the backend code (mint the token; verify a signed result) in every
// language, with the helper packages beside the plain code. Pure functions of the form's
// values, so the test suite runs exactly this code (tests/docs/test_console_code.py).
//
//   values:  {app, widget, locale, locked, unlocked, theme}
//   config:  {server, audience, max_ttl_s, manifest}

const q = (s) => s.replace(/&/g, '&amp;').replace(/'/g, '&#39;').replace(/"/g, '&quot;');
const json = (v) => JSON.stringify(v);
const has = (o) => Object.keys(o || {}).length > 0;
/** Where the iframe snippet names the host page's origin: the developer puts theirs. */
export const PORTAL_ORIGIN = 'https://YOUR-PORTAL-ORIGIN';

/** Whether a widget's events carry a signed result (the compliance widget's `result`). */
export function signsResults(manifest, widget) {
  const w = (manifest.widgets || {})[widget] || {};
  return Object.values(w.events || {}).some((e) => json((e && e.payload) || {}).includes('signed_result'));
}

/** The page snippets, by tab: [label, (values, config) => text]. */
export const SNIPPETS = {
  script: ['<script> + div', (v, c) => {
    const attrs = [`id="planfuse-${v.widget}"`, `data-planfuse-widget="${v.widget}"`, `data-app="${v.app}"`, 'data-token-url="/planfuse-token"'];
    if (v.locale !== 'zh-CN') attrs.push(`data-locale="${v.locale}"`);
    if (has(v.unlocked)) attrs.push(`data-params='${q(json(v.unlocked))}'`);
    if (has(v.theme)) attrs.push(`data-theme='${q(json(v.theme))}'`);
    return `<script src="${c.server}/embed.js" async></script>
<div ${attrs.join('\n     ')}></div>
${listenScript(v, c)}`;
  }],
  element: ['<planfuse-widget>', (v, c) => {
    const attrs = [`id="planfuse-${v.widget}"`, `widget="${v.widget}"`, `app="${v.app}"`, 'token-url="/planfuse-token"'];
    if (v.locale !== 'zh-CN') attrs.push(`locale="${v.locale}"`);
    if (has(v.unlocked)) attrs.push(`params='${q(json(v.unlocked))}'`);
    if (has(v.theme)) attrs.push(`theme='${q(json(v.theme))}'`);
    return `<script src="${c.server}/embed.js" async></script>
<planfuse-widget ${attrs.join('\n                 ')}></planfuse-widget>
${listenScript(v, c)}`;
  }],
  js: ['JavaScript', (v, c) => `<script src="${c.server}/embed.js" defer></script>
<div id="planfuse-${v.widget}"></div>
<script type="module">
  // A module runs after the deferred SDK: PlanFuse is there.
  const handle = PlanFuse.mount(document.getElementById('planfuse-${v.widget}'), {
    widget: '${v.widget}',
    app: '${v.app}',
    locale: '${v.locale}',
    params: ${json(v.unlocked)},
    theme: ${json(v.theme)},
    // Called again before the session expires; your backend mints a fresh token each time.
    token: () =>
      fetch('/planfuse-token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ widget: '${v.widget}' }),
      }).then((r) => r.json()).then((j) => j.token),
  });
  handle.on('ready', () => console.log('ready'));
  handle.on('error', (e) => console.warn(e.code, e.message));
${eventLines(v, c, 'handle.on')}
</script>`],
  iframe: ['<iframe>', (v, c) => {
    // host_origin readable as it is (':' and '/' may stand in a query); the rest encoded.
    const pairs = [['app', v.app], ['host_origin', null], ['locale', v.locale]];
    for (const [k, x] of Object.entries(v.unlocked)) pairs.push([`param.${k}`, typeof x === 'string' ? x : json(x)]);
    for (const [k, x] of Object.entries(v.theme)) pairs.push([`theme.${k}`, x]);
    const qs = pairs.map(([k, x]) => (x === null ? `${k}=${PORTAL_ORIGIN}` : `${k}=${encodeURIComponent(x)}`)).join('&');
    const w = (c.manifest.widgets || {})[v.widget] || { default_height: 400, title: { 'zh-CN': v.widget } };
    return `<!-- Plain iframe (fixed height): host_origin is your page's origin; put a fresh token
     from your backend after #token= (a fragment never reaches a server). -->
<iframe id="planfuse-${v.widget}"
        src="${c.server}/embed/${v.widget}?${q(qs)}#token=TOKEN_FROM_YOUR_BACKEND"
        title="${q(w.title['zh-CN'] || v.widget)}" referrerpolicy="no-referrer"
        style="width:100%;height:${w.default_height}px;border:0"></iframe>
<!-- Optional: the SDK's handle for it (events, commands) -->
<script src="${c.server}/embed.js" defer></script>
<script type="module">
  const handle = PlanFuse.attach(document.getElementById('planfuse-${v.widget}'));
  handle.on('ready', () => console.log('ready'));
${eventLines(v, c, 'handle.on')}
</script>`;
  }],
};

/** Listening on the element works before and after an `async` SDK has loaded. */
function listenScript(v, c) {
  return `<script type="module">
  const widget = document.getElementById('planfuse-${v.widget}');
  widget.addEventListener('planfuse:ready', () => console.log('ready'));
  widget.addEventListener('planfuse:error', (e) => console.warn(e.detail.code, e.detail.message));
${eventLines(v, c, 'widget.addEventListener', 'planfuse:')}
</script>`;
}

function eventLines(v, c, call, prefix = '') {
  const events = Object.keys(((c.manifest.widgets || {})[v.widget] || {}).events || {});
  const arg = prefix ? '(e) => ' : '(payload) => ';
  const payload = prefix ? 'e.detail' : 'payload';
  return events
    .map((e) =>
      e === 'result' && signsResults(c.manifest, v.widget)
        ? `  // Send signed_result to your backend to verify; act on its answer, not on this payload.
  ${call}('${prefix}${e}', ${arg}fetch('/planfuse-result', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ signed_result: ${payload}.signed_result }),
  }));`
        : `  ${call}('${prefix}${e}', ${arg}console.log('${e}', ${payload}));`,
    )
    .join('\n');
}

/** A value as a literal of `lang` (python, java, node, php). */
export function lit(lang, value, indent = '') {
  const next = `${indent}    `;
  if (value === null) return { python: 'None', java: 'null', node: 'null', php: 'null' }[lang];
  if (typeof value === 'boolean') return lang === 'python' ? (value ? 'True' : 'False') : String(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return lang === 'php' ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : json(value);
  if (Array.isArray(value)) {
    const items = value.map((x) => lit(lang, x, next));
    return { python: `[${items.join(', ')}]`, java: `List.of(${items.join(', ')})`, node: `[${items.join(', ')}]`, php: `[${items.join(', ')}]` }[lang];
  }
  const entries = Object.entries(value).map(([k, x]) => [lit(lang, k), lit(lang, x, next)]);
  if (lang === 'java') return `Map.of(${entries.map(([k, x]) => `${k}, ${x}`).join(', ')})`;
  if (lang === 'php') return `[${entries.map(([k, x]) => `${k} => ${x}`).join(', ')}]`;
  if (lang === 'node') return `{ ${entries.map(([k, x]) => `${k}: ${x}`).join(', ')} }`;
  return `{${entries.map(([k, x]) => `${k}: ${x}`).join(', ')}}`;
}

const ttl = (c) => Math.min(300, c.max_ttl_s || 300);
const javaString = (s) => json(s);

// --- backend code, by tab: [label, (values, config) => text] ---------------------------------

const PYTHON_HELPER = (v, c) => `# pip install ./host-packages/python — planfuse-host, from the PlanFuse repository.
# Serve planfuse_token as POST /planfuse-token ({"widget": ...} in, {"token": ...} out) for the
# user signed in to your system.
import os

from planfuse_host import PlanFuse

planfuse = PlanFuse("${c.server}", "${v.app}", os.environ["PLANFUSE_APP_SECRET"])


def planfuse_token(user_id: str) -> str:
    return planfuse.mint_token(user_id, widget="${v.widget}"${has(v.locked) ? `, params=${lit('python', v.locked)}` : ''})
${signsResults(c.manifest, v.widget) ? `

def verify_result(signed_result: str) -> dict:
    """The widget's signed_result, verified (raises planfuse_host.InvalidResult); act on
    report["verdict"] of what this returns, never on the browser's."""
    return planfuse.verify_result(signed_result)
` : ''}`;

const NODE_HELPER = (v, c) => `// npm install ./host-packages/node — planfuse-host, from the PlanFuse repository.
// Serve planfuseToken as POST /planfuse-token ({"widget": ...} in, {"token": ...} out) for the
// user signed in to your system.
import { PlanFuse } from 'planfuse-host';

const planfuse = new PlanFuse({ server: '${c.server}', appId: '${v.app}', secret: process.env.PLANFUSE_APP_SECRET });

export function planfuseToken(userId) {
  return planfuse.mintToken(userId, { widget: '${v.widget}'${has(v.locked) ? `, params: ${lit('node', v.locked)}` : ''} });
}
${signsResults(c.manifest, v.widget) ? `
/** The widget's signed_result, verified (rejects with InvalidResult); act on its verdict. */
export function verifyResult(signedResult) {
  return planfuse.verifyResult(signedResult);
}
` : ''}`;

const PYTHON = (v, c) => `# pip install "pyjwt[crypto]" — serve planfuse_token as POST /planfuse-token ({"widget": ...}
# in, {"token": ...} out) for the user signed in to your system
import os
import time
import uuid

import jwt

PLANFUSE_URL = "${c.server}"
APP_ID = "${v.app}"


def planfuse_token(user_id: str) -> str:
    now = int(time.time())
    claims = {
        "iss": APP_ID,
        "aud": "${c.audience}",
        "sub": user_id,
        "iat": now,
        "exp": now + ${ttl(c)},
        "jti": str(uuid.uuid4()),
        "widget": "${v.widget}",${has(v.locked) ? `\n        "params": ${lit('python', v.locked)},` : ''}
    }
    return jwt.encode(claims, os.environ["PLANFUSE_APP_SECRET"], algorithm="HS256")
${signsResults(c.manifest, v.widget) ? `

# The widget's result event carries signed_result: post it to your backend, verify it there
# and act on what verify_result returns, never on the browser's verdict.
_jwks = jwt.PyJWKClient(f"{PLANFUSE_URL}/api/v1/compliance/jwks.json", lifespan=300)  # cached


def verify_result(signed_result: str) -> dict:
    if jwt.get_unverified_header(signed_result).get("typ") != "planfuse-compliance+jwt":
        raise jwt.InvalidTokenError("not a PlanFuse compliance result")
    key = _jwks.get_signing_key_from_jwt(signed_result).key
    claims = jwt.decode(
        signed_result,
        key,
        algorithms=["ES256"],
        audience=APP_ID,  # issued to this app, not to another
        issuer="planfuse",
        leeway=30,
        options={"require": ["exp", "iat", "aud", "iss"]},
    )
    return claims["report"]  # id, verdict, items, project_id, …
` : ''}`;

const NODE = (v, c) => `// npm install jose — serve planfuseToken as POST /planfuse-token
import { randomUUID } from 'node:crypto';
import { SignJWT${signsResults(c.manifest, v.widget) ? ', createRemoteJWKSet, jwtVerify' : ''} } from 'jose';

const PLANFUSE_URL = '${c.server}';
const APP_ID = '${v.app}';
const secret = new TextEncoder().encode(process.env.PLANFUSE_APP_SECRET);

export async function planfuseToken(userId) {
  return new SignJWT({ widget: '${v.widget}'${has(v.locked) ? `, params: ${lit('node', v.locked)}` : ''} })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(APP_ID)
    .setAudience('${c.audience}')
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('${ttl(c)}s')
    .setJti(randomUUID())
    .sign(secret);
}
${signsResults(c.manifest, v.widget) ? `
// The widget's result event carries signed_result: post it to your backend, verify it there
// and act on what verifyResult returns, never on the browser's verdict.
const jwks = createRemoteJWKSet(new URL('/api/v1/compliance/jwks.json', PLANFUSE_URL)); // cached

export async function verifyResult(signedResult) {
  const { payload } = await jwtVerify(signedResult, jwks, {
    algorithms: ['ES256'],
    typ: 'planfuse-compliance+jwt',
    issuer: 'planfuse',
    audience: APP_ID, // issued to this app, not to another
    requiredClaims: ['exp', 'iat'],
    clockTolerance: 30,
  });
  return payload.report; // id, verdict, items, project_id, …
}
` : ''}`;

const JAVA = (v, c) => `// Java 11+ and Jackson (com.fasterxml.jackson.core:jackson-databind, in every Spring Boot
// app); nothing else. Serve planfuseToken as POST /planfuse-token${signsResults(c.manifest, v.widget) ? '; call verifyResult with the\n// widget\'s signed_result on your backend and act on its verdict, never on the browser\'s' : ''}.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.Base64;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public final class PlanFuse {
    static final String SERVER = ${javaString(c.server)};
    static final String APP_ID = ${javaString(v.app)};
    static final ObjectMapper JSON = new ObjectMapper();
    static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    static final Base64.Decoder UNB64 = Base64.getUrlDecoder();

    public static String planfuseToken(String userId) throws Exception {
        long now = System.currentTimeMillis() / 1000;
        ObjectNode claims = JSON.createObjectNode()
            .put("iss", APP_ID)
            .put("aud", ${javaString(c.audience)})
            .put("sub", userId)
            .put("iat", now)
            .put("exp", now + ${ttl(c)})
            .put("jti", UUID.randomUUID().toString())
            .put("widget", ${javaString(v.widget)});${has(v.locked) ? `\n        claims.set("params", JSON.readTree(${javaString(json(v.locked))}));` : ''}
        String input = B64.encodeToString("{\\"alg\\":\\"HS256\\",\\"typ\\":\\"JWT\\"}".getBytes(StandardCharsets.UTF_8))
            + "." + B64.encodeToString(JSON.writeValueAsBytes(claims));
        Mac hmac = Mac.getInstance("HmacSHA256");
        hmac.init(new SecretKeySpec(System.getenv("PLANFUSE_APP_SECRET").getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return input + "." + B64.encodeToString(hmac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    }
${signsResults(c.manifest, v.widget) ? `
    private static JsonNode jwks;
    private static long jwksAt;

    /** The server's public keys, kept 5 minutes (fetched again for a key not seen yet). */
    private static synchronized JsonNode jwks(boolean refresh) throws Exception {
        if (jwks == null || refresh || System.currentTimeMillis() - jwksAt > 300_000) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(SERVER + "/api/v1/compliance/jwks.json")).build(),
                HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) throw new SecurityException("PlanFuse JWKS: HTTP " + r.statusCode());
            jwks = JSON.readTree(r.body());
            jwksAt = System.currentTimeMillis();
        }
        return jwks;
    }

    private static PublicKey publicKey(String kid) throws Exception {
        for (boolean refresh : new boolean[] {false, true}) {
            for (JsonNode k : jwks(refresh).path("keys")) {
                if (!kid.equals(k.path("kid").asText())) continue;
                AlgorithmParameters p256 = AlgorithmParameters.getInstance("EC");
                p256.init(new ECGenParameterSpec("secp256r1"));
                ECPoint point = new ECPoint(
                    new BigInteger(1, UNB64.decode(k.path("x").asText())),
                    new BigInteger(1, UNB64.decode(k.path("y").asText())));
                return KeyFactory.getInstance("EC").generatePublic(
                    new ECPublicKeySpec(point, p256.getParameterSpec(ECParameterSpec.class)));
            }
        }
        throw new SecurityException("no published PlanFuse key has kid " + kid);
    }

    /** The signed report (verdict, items, project_id, id, …) once proven genuine. */
    public static JsonNode verifyResult(String signedResult) throws Exception {
        String[] part = signedResult.split("\\\\.");
        if (part.length != 3) throw new SecurityException("not a compact JWS");
        JsonNode header = JSON.readTree(UNB64.decode(part[0]));
        if (!"ES256".equals(header.path("alg").asText())
                || !"planfuse-compliance+jwt".equals(header.path("typ").asText())) {
            throw new SecurityException("not a PlanFuse compliance result");
        }
        Signature es256 = Signature.getInstance("SHA256withECDSAinP1363Format");
        es256.initVerify(publicKey(header.path("kid").asText()));
        es256.update((part[0] + "." + part[1]).getBytes(StandardCharsets.US_ASCII));
        if (!es256.verify(UNB64.decode(part[2]))) throw new SecurityException("the signature does not verify");
        JsonNode claims = JSON.readTree(UNB64.decode(part[1]));
        long now = System.currentTimeMillis() / 1000;
        if (!"planfuse".equals(claims.path("iss").asText())) throw new SecurityException("not issued by PlanFuse");
        if (!APP_ID.equals(claims.path("aud").asText())) throw new SecurityException("issued to another app");
        if (!claims.path("exp").canConvertToLong() || claims.path("exp").asLong() < now - 30) {
            throw new SecurityException("expired");
        }
        return claims.path("report");
    }
` : ''}}`;

const CSHARP = (v, c) => `// dotnet add package System.IdentityModel.Tokens.Jwt — serve PlanFuseToken as POST /planfuse-token
using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

public static class PlanFuse
{
    const string Server = ${json(c.server)};
    const string AppId = ${json(v.app)};

    public static string PlanFuseToken(string userId)
    {
        var key = new SymmetricSecurityKey(
            Encoding.UTF8.GetBytes(Environment.GetEnvironmentVariable("PLANFUSE_APP_SECRET")!));
        var now = DateTime.UtcNow;
        var token = new JwtSecurityToken(
            issuer: AppId,
            audience: ${json(c.audience)},
            claims: new[]
            {
                new Claim("sub", userId),
                new Claim("jti", Guid.NewGuid().ToString()),
                new Claim("iat", new DateTimeOffset(now).ToUnixTimeSeconds().ToString(), ClaimValueTypes.Integer64),
                new Claim("widget", ${json(v.widget)}),${has(v.locked) ? `\n                new Claim("params", ${json(json(v.locked))}, JsonClaimValueTypes.Json),` : ''}
            },
            expires: now.AddSeconds(${ttl(c)}),
            signingCredentials: new SigningCredentials(key, SecurityAlgorithms.HmacSha256));
        return new JwtSecurityTokenHandler().WriteToken(token);
    }
${signsResults(c.manifest, v.widget) ? `
    static readonly HttpClient Http = new();
    static JsonWebKeySet? jwks;
    static DateTime jwksAt;

    /// The widget's signed_result, verified on your backend: act on the verdict this returns.
    public static async Task<JsonElement> VerifyResult(string signedResult)
    {
        if (jwks == null || DateTime.UtcNow - jwksAt > TimeSpan.FromMinutes(5))
        {
            jwks = new JsonWebKeySet(await Http.GetStringAsync(Server + "/api/v1/compliance/jwks.json"));
            jwksAt = DateTime.UtcNow;
        }
        var handler = new JwtSecurityTokenHandler { MapInboundClaims = false };
        handler.ValidateToken(signedResult, new TokenValidationParameters
        {
            ValidIssuer = "planfuse",
            ValidAudience = AppId, // issued to this app, not to another
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidAlgorithms = new[] { "ES256" },
            ValidTypes = new[] { "planfuse-compliance+jwt" },
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        }, out var validated);
        var payload = ((JwtSecurityToken)validated).Payload.SerializeToJson();
        return JsonDocument.Parse(payload).RootElement.GetProperty("report");
    }
` : ''}}`;

const PHP = (v, c) => `<?php
// PHP 8 with its json and openssl extensions; no library. Serve planfuse_token() as
// POST /planfuse-token for the user signed in to your system.
const PLANFUSE_URL = '${c.server}';
const PLANFUSE_APP_ID = '${v.app}';

function planfuse_b64url(string $data): string
{
    return rtrim(strtr(base64_encode($data), '+/', '-_'), '=');
}

function planfuse_b64url_decode(string $data): string
{
    return base64_decode(strtr($data, '-_', '+/'));
}

function planfuse_token(string $userId): string
{
    $now = time();
    $claims = [
        'iss' => PLANFUSE_APP_ID,
        'aud' => '${c.audience}',
        'sub' => $userId,
        'iat' => $now,
        'exp' => $now + ${ttl(c)},
        'jti' => bin2hex(random_bytes(16)),
        'widget' => '${v.widget}',${has(v.locked) ? `\n        'params' => ${lit('php', v.locked)},` : ''}
    ];
    $input = planfuse_b64url('{"alg":"HS256","typ":"JWT"}') . '.'
        . planfuse_b64url(json_encode($claims, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES));
    return $input . '.' . planfuse_b64url(hash_hmac('sha256', $input, getenv('PLANFUSE_APP_SECRET'), true));
}
${signsResults(c.manifest, v.widget) ? `
// The widget's result event carries signed_result: post it to your backend, verify it there
// and act on what planfuse_verify_result() returns, never on the browser's verdict.

/** The server's public keys, kept 5 minutes in the temp folder. */
function planfuse_jwks(bool $refresh = false): array
{
    $file = sys_get_temp_dir() . '/planfuse-jwks-' . md5(PLANFUSE_URL) . '.json';
    if (!$refresh && is_file($file) && time() - filemtime($file) < 300) {
        return json_decode(file_get_contents($file), true);
    }
    $body = file_get_contents(PLANFUSE_URL . '/api/v1/compliance/jwks.json');
    if ($body === false) {
        throw new RuntimeException('cannot fetch the PlanFuse JWKS');
    }
    file_put_contents($file, $body, LOCK_EX);
    return json_decode($body, true);
}

function planfuse_public_key(string $kid)
{
    foreach ([false, true] as $refresh) {
        foreach (planfuse_jwks($refresh)['keys'] as $k) {
            if (($k['kid'] ?? '') === $kid) {
                // A P-256 SubjectPublicKeyInfo: a fixed prefix, then the point 04 || x || y.
                $der = hex2bin('3059301306072a8648ce3d020106082a8648ce3d030107034200') . "\\x04"
                    . planfuse_b64url_decode($k['x']) . planfuse_b64url_decode($k['y']);
                return openssl_pkey_get_public("-----BEGIN PUBLIC KEY-----\\n"
                    . chunk_split(base64_encode($der), 64, "\\n") . "-----END PUBLIC KEY-----\\n");
            }
        }
    }
    throw new RuntimeException("no published PlanFuse key has kid $kid");
}

/** The signed report (verdict, items, project_id, id, …) once proven genuine. */
function planfuse_verify_result(string $signedResult): array
{
    $part = explode('.', $signedResult);
    if (count($part) !== 3) {
        throw new RuntimeException('not a compact JWS');
    }
    $header = json_decode(planfuse_b64url_decode($part[0]), true);
    if (($header['alg'] ?? '') !== 'ES256' || ($header['typ'] ?? '') !== 'planfuse-compliance+jwt') {
        throw new RuntimeException('not a PlanFuse compliance result');
    }
    // ES256 signs r || s (32 bytes each); openssl wants them as a DER sequence.
    $sig = planfuse_b64url_decode($part[2]);
    $int = function (string $n): string {
        $n = ltrim($n, "\\x00");
        if ($n === '' || ord($n[0]) > 127) {
            $n = "\\x00" . $n;
        }
        return "\\x02" . chr(strlen($n)) . $n;
    };
    $seq = $int(substr($sig, 0, 32)) . $int(substr($sig, 32));
    $key = planfuse_public_key($header['kid'] ?? '');
    if (openssl_verify("$part[0].$part[1]", "\\x30" . chr(strlen($seq)) . $seq, $key, OPENSSL_ALGO_SHA256) !== 1) {
        throw new RuntimeException('the signature does not verify');
    }
    $claims = json_decode(planfuse_b64url_decode($part[1]), true);
    if (($claims['iss'] ?? '') !== 'planfuse') {
        throw new RuntimeException('not issued by PlanFuse');
    }
    if (($claims['aud'] ?? '') !== PLANFUSE_APP_ID) {
        throw new RuntimeException('issued to another app');
    }
    if (!is_int($claims['exp'] ?? null) || $claims['exp'] < time() - 30) {
        throw new RuntimeException('expired');
    }
    return $claims['report'];
}
` : ''}`;

/** The backend code, by tab: the helper packages first, then the plain code per language. */
export const CODE = {
  'python-helper': ['Python · planfuse-host', PYTHON_HELPER],
  'node-helper': ['Node.js · planfuse-host', NODE_HELPER],
  python: ['Python', PYTHON],
  java: ['Java', JAVA],
  node: ['Node.js', NODE],
  csharp: ['C#', CSHARP],
  php: ['PHP', PHP],
};
