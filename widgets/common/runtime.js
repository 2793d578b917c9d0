// The widget-side runtime every PlanFuse widget is built on: handshake with the host (or the
// token from the URL fragment), the token → session exchange, the API client, events,
// commands, resizing, translations, theme and screen-reader announcements. See
// embed-sdk/PROTOCOL.md for the protocol and server/embed/protocol.json for its manifest.
import { isMessage, message } from '../../embed-sdk/src/protocol.js';
import {
  API_TIMEOUT_MS,
  HELLO_INTERVAL_MS,
  TOKEN_WAIT_MS,
  backoffDelayMs,
  refreshDelayMs,
} from '../../embed-sdk/src/timing.js';
import { pickLocale, translator } from './i18n.js';

export { formatNumber, translator } from './i18n.js';

/** Screen readers skip a live region whose text did not change; it is cleared this long first. */
const ANNOUNCE_CLEAR_MS = 50;
/** Error codes of the protocol (server/embed/protocol.json) the runtime itself reports. */
export const ERROR_CODES = ['token_expired', 'token_invalid', 'origin_denied', 'forbidden', 'network'];
/** The protocol's lifecycle events: every other event comes after `ready`. */
const LIFECYCLE = ['ready', 'resize', 'error'];

/** The stable code of a problem: the last path segment of its `type` URI. */
export function problemCode(problem) {
  const match = /\/([a-z0-9_]+)$/.exec(problem.type || '');
  return match ? match[1] : null;
}

/** An API call that failed: `status`, `code` and the RFC 9457 problem fields. */
export class ApiError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code || problemCode(problem) || (status === 401 ? 'token_invalid' : status === 403 ? 'forbidden' : status ? `http_${status}` : 'network');
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors || [];
    this.problem = problem;
  }
}

/** The page configuration the server rendered into `<script type="application/json" id="planfuse-config">`. */
export function readConfig(doc = document) {
  const el = doc.getElementById('planfuse-config');
  return el ? JSON.parse(el.textContent) : {};
}

/**
 * The embed token from the URL fragment (`#token=...`, plain-iframe embedding), or null.
 * The fragment is removed at once so the token does not linger in the address or history.
 */
export function takeFragmentToken(loc = location, hist = history) {
  const match = /(?:^#|&)token=([^&]+)/.exec(loc.hash || '');
  if (!match) return null;
  hist.replaceState(hist.state, '', loc.pathname + loc.search);
  return decodeURIComponent(match[1]);
}

/**
 * The origin of the page that frames the widget: the `host_origin` the server checked (given
 * in the URL, or the app's one origin when it has only one), else the parent's origin from
 * `location.ancestorOrigins` when it is one of the app's origins. `denied` is true when the
 * browser reports a parent at another origin than the one we would talk to.
 */
export function resolveHostOrigin(config, loc = location) {
  const allowed = config.allowed_origins || [];
  const ancestors = loc.ancestorOrigins;
  const parent = ancestors && ancestors.length ? ancestors[0] : null;
  let origin = config.host_origin || null;
  if (!origin && parent && allowed.includes(parent)) origin = parent;
  return { origin, denied: Boolean(parent && origin && parent !== origin) };
}

/** A `connect` message's port when it comes from `parentWindow` at exactly `hostOrigin`. */
export function connectPort(event, hostOrigin, parentWindow) {
  if (!hostOrigin || event.origin !== hostOrigin || event.source !== parentWindow) return null;
  if (!isMessage(event.data, 'connect') || !event.ports || !event.ports[0]) return null;
  return event.ports[0];
}

/** Set the theme's CSS custom properties (`primary` → `--pf-primary`) on the document. */
export function applyTheme(theme, root = document.documentElement) {
  for (const [name, value] of Object.entries(theme || {})) root.style.setProperty(`--pf-${name}`, value);
}

function liveRegion(politeness) {
  const el = document.createElement('div');
  el.className = 'pf-visually-hidden';
  el.setAttribute('aria-live', politeness);
  el.setAttribute('aria-atomic', 'true');
  document.body.appendChild(el);
  return el;
}

/**
 * Start a widget. Resolves with its context once it is ready (the `ready` event is sent).
 *
 * options:
 *   name      the widget's name (as registered on the server)
 *   messages  {'zh-CN': {...}, en: {...}} the widget's texts for ctx.t()
 *   init      async (ctx) => void: render the widget; runs once a session exists
 *   commands  {name: async (payload, ctx) => result} host commands (see the manifest)
 *   onSession (ctx) => void: called after every new session (token refresh)
 *
 * ctx: config, locale, t(key, vars), params (unlocked ∪ locked, locked win), lockedParams,
 *      user {sub, name, dept, roles}, root (the #planfuse-root element),
 *      api(path, {method, body, query, timeoutMs, signal, raw, soft}), emit(name, payload),
 *      announce(text, {assertive}), showStatus(content, kind), clearStatus(), fail(code, text),
 *      focus(el), destroy().
 */
export function startWidget(options) {
  const o = options || {};
  const config = readConfig();
  const locale = pickLocale(config.locale);
  const t = translator(locale, o.messages);
  const root = document.getElementById('planfuse-root') || document.body;
  const timers = new Set();
  const sessionWaiters = [];
  const polite = liveRegion('polite');
  const assertive = liveRegion('assertive');
  // The server may already have rendered an error into #planfuse-status (works without JS).
  let status = document.getElementById('planfuse-status');
  if (!status) {
    status = document.createElement('div');
    status.id = 'planfuse-status';
    status.className = 'pf-status';
    status.hidden = true;
    root.prepend(status);
  }

  const framed = window.parent !== window;
  const host = resolveHostOrigin(config);
  let port = null;
  let session = null;
  let lastHeight = -1;
  let exchanging = false;
  let queuedToken = null;
  let failures = 0;
  let stopped = false;
  let fragmentToken = null;
  let readyResolve;
  const readyPromise = new Promise((resolve) => {
    readyResolve = resolve;
  });

  const later = (fn, ms) => {
    const id = setTimeout(() => {
      timers.delete(id);
      fn();
    }, ms);
    timers.add(id);
    return id;
  };
  const cancel = (id) => {
    clearTimeout(id);
    timers.delete(id);
  };

  function post(msg) {
    if (port) port.postMessage(msg);
    // Without a port (plain iframe) events still go to the parent, at its exact origin only.
    else if (framed && host.origin && !host.denied) window.parent.postMessage(msg, host.origin);
  }

  const ctx = {
    config,
    locale,
    t,
    root,
    params: { ...(config.params || {}) },
    lockedParams: {},
    user: null,
    emit(name, payload = {}) {
      // `ready` is the first event a host sees from a widget that starts; before it only
      // `resize` and `error` pass (a widget that cannot start says why).
      if (!readySent && !LIFECYCLE.includes(name)) held.push({ name, payload });
      else post(message('event', { name, payload }));
      if (name === 'ready') {
        readySent = true;
        while (held.length) post(message('event', held.shift()));
      }
    },
    announce(text, { assertive: urgent = false } = {}) {
      const region = urgent ? assertive : polite;
      region.textContent = '';
      later(() => {
        region.textContent = text;
      }, ANNOUNCE_CLEAR_MS);
    },
    /** Show `content` (text, a node, or a list of them) in the status line. */
    showStatus(content, kind = 'info') {
      status.replaceChildren(...[].concat(content));
      status.dataset.kind = kind;
      status.setAttribute('role', kind === 'error' ? 'alert' : 'status');
      status.hidden = false;
    },
    clearStatus() {
      status.hidden = true;
      status.textContent = '';
    },
    /** Report an error to the host (error event) and to the user (message + announcement). */
    fail(code, text, extra = {}) {
      const msg = text || t(`error.${code}`);
      ctx.showStatus(msg, 'error');
      ctx.emit('error', { code, message: msg, ...extra });
    },
    focus(el) {
      if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
      el.focus();
    },
    api,
    ready: readyPromise,
    destroy() {
      stopped = true;
      timers.forEach(clearTimeout);
      timers.clear();
      if (port) port.close();
    },
  };

  // --- session ---------------------------------------------------------------------------

  /** What the user reads: our own localised text for protocol codes, else the server's. */
  function userText(error) {
    return ERROR_CODES.includes(error.code) ? null : error.detail;
  }

  function requestToken(reason) {
    if (port) port.postMessage(message('token-request', { reason }));
  }

  let refreshTimer = null;
  let expiryTimer = null;
  function schedule() {
    cancel(refreshTimer);
    cancel(expiryTimer);
    const now = Date.now();
    if (port) refreshTimer = later(() => requestToken('refresh'), refreshDelayMs(session.expiresAtMs, now, session.issuedAtMs));
    expiryTimer = later(() => {
      session = null;
      ctx.fail('token_expired');
      requestToken('expired');
    }, Math.max(0, session.expiresAtMs - now));
  }

  async function exchange(token) {
    if (stopped) return;
    exchanging = true;
    try {
      const res = await request(config.session_url || '/embed/session', {
        method: 'POST',
        body: { token, widget: config.widget, app: config.app },
        auth: false,
      });
      const now = Date.now();
      session = { token: res.session_token, issuedAtMs: now, expiresAtMs: now + res.expires_in * 1000 };
      failures = 0;
      ctx.user = res.user;
      ctx.lockedParams = res.params || {};
      ctx.params = { ...(config.params || {}), ...ctx.lockedParams };
      ctx.clearStatus();
      schedule();
      while (sessionWaiters.length) sessionWaiters.shift()();
      if (o.onSession) o.onSession(ctx);
      if (!started) start();
    } catch (error) {
      if (error.code === 'network' || error.status >= 500) {
        ctx.fail('network', null, { status: error.status });
        // The token may have been spent before the answer was lost: ask for a new one.
        later(() => (port ? requestToken('retry') : exchange(token)), backoffDelayMs(failures++, Math.random()));
      } else ctx.fail(error.code, userText(error), { status: error.status, detail: error.detail });
    } finally {
      exchanging = false;
      if (queuedToken) {
        const next = queuedToken;
        queuedToken = null;
        exchange(next);
      }
    }
  }

  function waitForSession(ms) {
    return new Promise((resolve, reject) => {
      const timer = later(() => reject(new ApiError({ code: 'token_expired' }, 401)), ms);
      sessionWaiters.push(() => {
        cancel(timer);
        resolve();
      });
    });
  }

  // --- HTTP ------------------------------------------------------------------------------

  async function request(path, { method = 'GET', body, query, timeoutMs = API_TIMEOUT_MS, signal, auth = true, raw = false } = {}) {
    const base = new URL(config.api_base || '/api/v1/', location.href);
    const url = new URL(path.startsWith('/') ? path : path.replace(/^\.\//, ''), path.startsWith('/') ? location.href : base);
    for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null) url.searchParams.set(k, v);
    const headers = { Accept: 'application/json' };
    if (auth && session) headers.Authorization = `Bearer ${session.token}`;
    let payload;
    if (body instanceof FormData || body instanceof Blob) payload = body;
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const abort = new AbortController();
    const timer = later(() => abort.abort(), timeoutMs);
    if (signal) signal.addEventListener('abort', () => abort.abort(), { once: true });
    let res;
    try {
      // No cookies at all: the session token is the only credential.
      res = await fetch(url, { method, headers, body: payload, signal: abort.signal, credentials: 'omit', cache: 'no-store' });
    } catch (e) {
      if (signal && signal.aborted) throw e;
      throw new ApiError({ code: 'network', detail: abort.signal.aborted ? t('runtime.timeout') : t('error.network') }, 0);
    } finally {
      cancel(timer);
    }
    if (res.ok) return raw ? res : res.status === 204 ? null : res.json();
    let problem = {};
    try {
      problem = await res.json();
    } catch {
      problem = { title: res.statusText };
    }
    throw new ApiError(problem, res.status);
  }

  async function api(path, opts = {}) {
    if (!session && started) await waitForSession(TOKEN_WAIT_MS);
    try {
      return await request(path, opts);
    } catch (error) {
      if (error.status === 401 && error.code === 'token_expired' && !opts.retried) {
        session = null;
        requestToken('expired');
        await waitForSession(TOKEN_WAIT_MS);
        return api(path, { ...opts, retried: true });
      }
      // `soft`: a call whose refusal concerns only itself (one optional layer), not the widget.
      if (!opts.soft && (error.status === 401 || error.status === 403 || error.code === 'network')) {
        ctx.fail(error.code, userText(error), { status: error.status, detail: error.detail });
      }
      throw error;
    }
  }

  // --- messaging -------------------------------------------------------------------------

  async function onPortMessage(event) {
    const data = event.data;
    if (!isMessage(data)) return;
    if (data.type === 'token' && typeof data.token === 'string') {
      // One exchange at a time; a token arriving meanwhile is exchanged right after.
      if (exchanging) queuedToken = data.token;
      else exchange(data.token);
    } else if (data.type === 'command') {
      const handler = (o.commands || {})[data.name];
      let reply;
      try {
        // For the host's developer, like the code: the protocol's own English.
        if (!handler) throw Object.assign(new Error(`unknown command: ${data.name}`), { code: 'unknown_command' });
        await ctx.ready;
        reply = { id: data.id, ok: true, result: (await handler(data.payload, ctx)) ?? null };
      } catch (e) {
        reply = { id: data.id, ok: false, error: { code: e.code || 'command_failed', message: e.message } };
      }
      port.postMessage(message('command-result', reply));
    }
  }

  function connect() {
    let helloTimer = null;
    const hello = () => window.parent.postMessage(message('hello', { widget: config.widget, title: config.title }), host.origin);
    function onMessage(event) {
      const p = connectPort(event, host.origin, window.parent);
      if (!p || port) return;
      port = p;
      port.onmessage = onPortMessage;
      // A plain iframe's session began before the port: its refresh can be asked for now,
      // and a host that attached after the widget was ready still learns that it is.
      if (session) schedule();
      if (readySent) port.postMessage(message('event', { name: 'ready', payload: readyPayload() }));
      removeEventListener('message', onMessage);
      clearInterval(helloTimer);
      cancel(waitTimer);
    }
    addEventListener('message', onMessage);
    hello();
    helloTimer = setInterval(hello, HELLO_INTERVAL_MS);
    const waitTimer = later(() => {
      clearInterval(helloTimer);
      if (!session && !exchanging && !fragmentToken) ctx.fail('token_invalid', t('runtime.no_token'));
    }, TOKEN_WAIT_MS);
  }

  // --- size ------------------------------------------------------------------------------

  function reportSize() {
    const height = Math.ceil(root.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      ctx.emit('resize', { height });
    }
  }

  // --- start -----------------------------------------------------------------------------

  let started = false;
  let readySent = false;
  const readyPayload = () => ({ widget: config.widget, title: config.title, locale });
  /** Widget events emitted before `ready` (e.g. a locked project's result): sent right after. */
  const held = [];
  async function start() {
    started = true;
    try {
      if (o.init) await o.init(ctx);
      reportSize();
      ctx.emit('ready', readyPayload());
      readyResolve(ctx);
    } catch (error) {
      if (error.code && ERROR_CODES.includes(error.code)) ctx.fail(error.code, userText(error));
      else ctx.fail('widget_failed', t('runtime.failed', { message: error.detail || error.message }));
    }
  }

  applyTheme(config.theme);
  if (typeof ResizeObserver !== 'undefined') new ResizeObserver(reportSize).observe(root);

  if (config.error) {
    ctx.fail(config.error.code, config.error.message);
  } else if (host.denied) {
    ctx.fail('origin_denied');
  } else if (framed && !host.origin) {
    // Neither the URL's host_origin nor the browser names the page that frames us.
    ctx.fail('origin_denied', t('runtime.host_origin_required'));
  } else {
    fragmentToken = takeFragmentToken();
    if (fragmentToken) {
      exchange(fragmentToken);
      // A plain iframe still offers the handshake, for a host page that attaches the SDK
      // (PlanFuse.attach) to get a port: commands, and token refresh.
      if (framed) connect();
    } else if (framed) {
      ctx.showStatus(t('runtime.waiting_for_token'));
      connect();
    } else ctx.fail('token_invalid', t('runtime.no_token'));
  }
  return readyPromise;
}
