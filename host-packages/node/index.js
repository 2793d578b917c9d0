// planfuse-host: what a host system's Node.js backend needs to embed PlanFuse widgets.
//
//   import { PlanFuse, verifyWebhook } from 'planfuse-host';
//   const planfuse = PlanFuse.fromEnv(); // PLANFUSE_URL, PLANFUSE_APP_ID, PLANFUSE_APP_SECRET
//   const token = planfuse.mintToken('user-42', { widget: 'compliance' });   // for the page
//   const report = await planfuse.verifyResult(signedResult);              // the widget's result
//   const project = await planfuse.call('POST', 'projects', { ... });      // a function service
//   const event = verifyWebhook(webhookSecret, req.headers, rawBody);      // a webhook
//
// Versioned with the PlanFuse server (the same version number). Node's own crypto only.
import { createHmac, createPublicKey, randomBytes, timingSafeEqual, verify } from 'node:crypto';

export const VERSION = '0.1.0';
/** The audience of embed tokens (the server's `token_audience` setting). */
export const AUDIENCE = 'planfuse';
/** Who signs compliance results, and the JWS `typ` they carry. */
export const RESULT_ISSUER = 'planfuse';
export const RESULT_TYPE = 'planfuse-compliance+jwt';
const JWKS_PATH = 'api/v1/compliance/jwks.json';
/** Embed tokens live this long by default (the server accepts at most 600 s). */
export const TOKEN_TTL_S = 300;
/** The JWKS is kept this long (the server's Cache-Control says 300 s). */
export const JWKS_TTL_MS = 300_000;
/** A result naming a key we do not have makes us fetch the JWKS again, at most this often. */
const JWKS_REFETCH_MS = 10_000;
const CLOCK_LEEWAY_S = 30;
/** Standard Webhooks: receivers refuse timestamps further than this from now. */
export const WEBHOOK_TOLERANCE_S = 300;

/** A PlanFuse API call failed: `status` (0: unreachable) and the RFC 9457 problem. */
export class PlanFuseError extends Error {
  constructor(status, problem) {
    const code = problem.code || String(problem.type || '').split('/').pop();
    const detail = problem.detail || problem.title || `HTTP ${status}`;
    super(`${status} ${code}: ${detail}`);
    this.name = 'PlanFuseError';
    Object.assign(this, { status, problem, code, detail, errors: problem.errors || [] });
  }
}

/** A signed result that must not be trusted (forged, expired, another app's, …). */
export class InvalidResult extends Error {
  name = 'InvalidResult';
}

/** A webhook request that must not be trusted (bad signature, stale, malformed). */
export class InvalidWebhook extends Error {
  name = 'InvalidWebhook';
}

const b64url = (data) => Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)).toString('base64url');
const json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** One PlanFuse server as seen by one host app (its id and HS256 secret). Keep one per process. */
export class PlanFuse {
  constructor({ server, appId, secret, audience = AUDIENCE, timeoutMs = 10_000, jwksTtlMs = JWKS_TTL_MS }) {
    if (!/^https?:\/\//.test(server || '')) throw new TypeError(`server must be an http(s) URL, not ${server}`);
    this.server = server.replace(/\/?$/, '/');
    Object.assign(this, { appId, secret, audience, timeoutMs, jwksTtlMs });
    this.keys = new Map();
    this.keysAt = -Infinity;
    this.fetching = null;
  }

  /** The server and app from the environment: PLANFUSE_URL, PLANFUSE_APP_ID, PLANFUSE_APP_SECRET. */
  static fromEnv(env = process.env, options = {}) {
    const missing = ['PLANFUSE_URL', 'PLANFUSE_APP_ID', 'PLANFUSE_APP_SECRET'].filter((name) => !env[name]);
    if (missing.length) throw new TypeError(`set ${missing.join(', ')} (the PlanFuse server, app id and secret)`);
    return new PlanFuse({ ...options, server: env.PLANFUSE_URL, appId: env.PLANFUSE_APP_ID, secret: env.PLANFUSE_APP_SECRET });
  }

  /**
   * An embed token (HS256 JWT) for `userId` to open `widget`, valid `ttlSeconds` (≤ 600).
   * `params` are locked: the user cannot change them.
   */
  mintToken(userId, { widget, params, name, dept, roles, locale, ttlSeconds = TOKEN_TTL_S }) {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: this.appId, aud: this.audience, sub: userId, iat: now, exp: now + ttlSeconds, jti: randomBytes(16).toString('base64url'), widget };
    for (const [key, value] of Object.entries({ params, name, dept, roles, locale })) {
      if (value && (typeof value !== 'object' || Object.keys(value).length)) claims[key] = value;
    }
    const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
    return `${input}.${createHmac('sha256', this.secret).update(input).digest('base64url')}`;
  }

  /**
   * The report of a compliance widget's `signed_result` once proven genuine: signed by this
   * server's key (its JWKS, cached), `typ` planfuse-compliance+jwt, issued to this app
   * (`aud`), not expired. Resolves with the signed `report` claim (`id`, `verdict`, `items`,
   * `project_id`, …); rejects with InvalidResult otherwise.
   */
  async verifyResult(signedResult, { leewaySeconds = CLOCK_LEEWAY_S } = {}) {
    const parts = typeof signedResult === 'string' ? signedResult.split('.') : [];
    if (parts.length !== 3) throw new InvalidResult('signed_result is not a compact JWS');
    let header;
    try {
      header = json(parts[0]);
    } catch {
      throw new InvalidResult('signed_result has an unreadable header');
    }
    if (!header || header.alg !== 'ES256') throw new InvalidResult(`signed_result must be ES256, not ${header && header.alg}`);
    if (header.typ !== RESULT_TYPE) throw new InvalidResult(`signed_result is not a ${RESULT_TYPE} (typ ${header.typ})`);
    const key = await this.key(String(header.kid || ''));
    const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
    if (!ok) throw new InvalidResult('the signature of signed_result does not verify');
    const claims = json(parts[1]);
    const now = Date.now() / 1000;
    const audiences = [].concat(claims.aud);
    if (claims.iss !== RESULT_ISSUER) throw new InvalidResult(`signed_result was not issued by ${RESULT_ISSUER}`);
    if (!audiences.includes(this.appId)) throw new InvalidResult(`signed_result was issued to ${claims.aud}, not to ${this.appId}`);
    if (typeof claims.exp !== 'number' || claims.exp < now - leewaySeconds) throw new InvalidResult('signed_result has expired');
    if (typeof claims.iat === 'number' && claims.iat > now + leewaySeconds) throw new InvalidResult('signed_result was issued in the future');
    if (!claims.report || typeof claims.report !== 'object') throw new InvalidResult('signed_result carries no report');
    return claims.report;
  }

  /** The server's public key `kid` from the cached JWKS (refetched when stale or new). */
  async key(kid) {
    const age = Date.now() - this.keysAt;
    if (age > this.jwksTtlMs || (!this.keys.has(kid) && age > JWKS_REFETCH_MS)) {
      // One fetch at a time, shared by every caller waiting for it.
      this.fetching ||= this.request('GET', this.server + JWKS_PATH, undefined, false).then(
        (jwks) => {
          this.keys = new Map((jwks.keys || []).filter((k) => k.kty === 'EC' && k.kid).map((k) => [k.kid, createPublicKey({ key: k, format: 'jwk' })]));
          this.keysAt = Date.now();
        },
      ).finally(() => {
        this.fetching = null;
      });
      await this.fetching;
    }
    if (!this.keys.has(kid)) throw new InvalidResult(`no published PlanFuse key has kid ${kid}`);
    return this.keys.get(kid);
  }

  /**
   * Call a function service as this app (HTTP Basic appId:secret): `path` is relative to
   * /api/v1/ (e.g. "projects", "compliance/check"). Resolves with the JSON answer; rejects
   * with PlanFuseError carrying the problem on any error status.
   */
  call(method, path, body, { query } = {}) {
    const url = new URL(path.replace(/^\//, ''), `${this.server}api/v1/`);
    for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null) url.searchParams.set(k, v);
    return this.request(method.toUpperCase(), url.href, body, true);
  }

  async request(method, url, body, auth) {
    const headers = { Accept: 'application/json', 'User-Agent': `planfuse-host/${VERSION}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth) headers.Authorization = `Basic ${Buffer.from(`${this.appId}:${this.secret}`).toString('base64')}`;
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw new PlanFuseError(0, { code: 'network', detail: `${url}: ${e.message}` });
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) throw new PlanFuseError(response.status, data && typeof data === 'object' ? data : {});
    return data;
  }
}

function header(headers, name) {
  const value = typeof headers.get === 'function' ? headers.get(name) : headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  if (!value) throw new InvalidWebhook(`the ${name} header is missing`);
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The JSON payload of a webhook PlanFuse sent, once proven genuine by the Standard Webhooks
 * rules: `webhook-signature` holds `v1,<base64 HMAC-SHA256>` of "{id}.{timestamp}.{body}"
 * under the subscription's `whsec_…` secret, and the timestamp is within `toleranceSeconds`
 * of now. `body` is the raw request body (string or Buffer) exactly as received; `headers`
 * a plain object (Node's req.headers) or a Headers. Throws InvalidWebhook otherwise.
 */
export function verifyWebhook(secret, headers, body, { toleranceSeconds = WEBHOOK_TOLERANCE_S, now } = {}) {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!/^\d+$/.test(timestamp)) throw new InvalidWebhook('webhook-timestamp is not a Unix time in seconds');
  const current = now ?? Date.now() / 1000;
  if (Math.abs(current - Number(timestamp)) > toleranceSeconds) throw new InvalidWebhook('webhook-timestamp is too far from now (replayed or clock skew)');
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(String(body));
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(raw).digest();
  for (const entry of signatures.split(' ')) {
    const [version, signature] = entry.split(',', 2);
    const given = Buffer.from(signature || '', 'base64');
    if (version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected)) {
      try {
        return JSON.parse(raw.toString('utf8'));
      } catch {
        throw new InvalidWebhook('the webhook body is not JSON');
      }
    }
  }
  throw new InvalidWebhook('no webhook-signature matches');
}
