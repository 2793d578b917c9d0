// PlanFuse embed SDK: put a PlanFuse widget on a host page. See ../PROTOCOL.md.
import { frameSandbox, isMessage, message, tokenIssuer } from './protocol.js';
import {
  COMMAND_TIMEOUT_MS,
  HANDSHAKE_TIMEOUT_MS,
  HELLO_AFTER_LOAD_MS,
  obtainToken,
} from './timing.js';

const script = document.currentScript;
/** Base URL of the PlanFuse server: where embed.js itself was loaded from. */
const DEFAULT_SERVER = script && script.src ? new URL('.', script.src).href : null;

const TITLES = { 'zh-CN': 'PlanFuse 组件', en: 'PlanFuse widget' };

/** The SDK's own `error` messages, in the widget's locale like the widget's ({name} filled in). */
const TEXTS = {
  'zh-CN': {
    origin_denied: '组件未能启动：此页面的来源 {origin} 是否在应用 {app} 允许的来源列表中？',
    network: '未能从 {server} 加载组件。',
    token_function: '获取登录凭证失败（第 {n} 次）：{message}',
    token_expired: '会话需要新的登录凭证：请调用 setToken()。',
    token_invalid: '登录凭证中没有 iss：请传入 options.app。',
    timeout: '组件未回应命令 {name}。',
    destroyed: '组件已移除。',
  },
  en: {
    origin_denied: 'The widget did not start: is {origin} an allowed origin of app {app}?',
    network: 'The widget did not load from {server}.',
    token_function: 'The token function failed ({n}): {message}',
    token_expired: 'The session needs a new token: call setToken().',
    token_invalid: 'The token has no iss claim; pass options.app.',
    timeout: 'No answer to {name}.',
    destroyed: 'The widget was removed.',
  },
};

/**
 * Mount a widget into `element` and return its handle.
 *
 * options:
 *   widget  (string, required)  widget name, e.g. "compliance" (see /embed/manifest.json)
 *   token   (string | () => Promise<string>, required)  the embed token, or an async function
 *           that asks the host's backend for a fresh one; a function is called again before
 *           the widget's session expires (timeout, retries with backoff, stopped by destroy)
 *   app     (string)  the host app id; read from the token's `iss` claim when left out
 *   params  (object)  the widget's unlocked parameters (locked ones belong in the token)
 *   theme   (object)  CSS custom properties, e.g. {primary: "#0b5cad", radius: "2px"}
 *   locale  ("zh-CN" | "en")  default "zh-CN"
 *   height  (number)  initial height in CSS pixels before the widget reports its own
 *   server  (string)  PlanFuse base URL; default: where embed.js was loaded from
 *
 * The handle (the same for every way of embedding, and always `element.planfuse` too;
 * `PlanFuse.attach(iframe)` gives a plain iframe's):
 *   on(event, fn), off(event, fn), send(command, payload) -> Promise of the command's result
 *   (rejected with an Error carrying `code`), setToken(tokenOrFunction), destroy(),
 *   ready (a Promise of the `ready` payload), iframe. Events are also dispatched on `element`
 *   as DOM CustomEvents named "planfuse:<event>".
 */
export function mount(element, options) {
  const o = options || {};
  if (!element || !o.widget || !o.token) throw new TypeError('PlanFuse.mount needs an element, a widget and a token');
  const base = o.server ? new URL(o.server, location.href).href.replace(/\/?$/, '/') : DEFAULT_SERVER;
  return connectFrame(element, o, base, null);
}

/**
 * The handle of a widget embedded as a plain `<iframe src="SERVER/embed/<widget>?…#token=…">`:
 * its events, commands and (with `options.token`, a function) token refresh, as mount() gives.
 * Call it right after the iframe is on the page.
 */
export function attach(iframe, options) {
  if (!iframe || !iframe.src) throw new TypeError('PlanFuse.attach needs the widget iframe');
  const url = new URL(iframe.src, location.href);
  const o = { ...(options || {}), widget: decodeURIComponent(url.pathname.split('/').pop()), locale: url.searchParams.get('locale') };
  return connectFrame(iframe.parentNode || document.body, o, new URL('/', url).href, iframe);
}

function connectFrame(element, o, base, existing) {
  const serverOrigin = new URL(base).origin;
  const locale = o.locale === 'en' ? 'en' : 'zh-CN';
  const text = (key, vars = {}) => TEXTS[locale][key].replace(/\{(\w+)\}/g, (m, name) => vars[name]);
  const lifetime = new AbortController();
  const signal = lifetime.signal;
  const listeners = {};
  const pending = {};
  const queue = [];
  const timers = [];
  let source = o.token;
  let first = null;
  let port = null;
  let iframe = existing;
  let commandId = 0;
  let readyResolve;
  const ready = new Promise((resolve) => {
    readyResolve = resolve;
  });

  const emit = (name, payload) => {
    if (name === 'ready') readyResolve(payload);
    for (const fn of (listeners[name] || []).slice()) {
      try {
        fn(payload);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
    (existing || element).dispatchEvent(new CustomEvent(`planfuse:${name}`, { detail: payload }));
  };
  const later = (fn, ms) => timers.push(setTimeout(fn, ms));
  const fail = (code, message) => emit('error', { code, message });
  const post = (msg) => (port ? port.postMessage(msg) : queue.push(msg));

  const nextToken = () =>
    typeof source === 'function'
      ? obtainToken(source, signal, (e, attempt) => fail('network', text('token_function', { n: attempt + 1, message: e.message })))
      : Promise.resolve(source);

  const sendToken = (promise) =>
    promise.then(
      (token) => post(message('token', { token })),
      () => {}, // aborted by destroy()
    );

  let readySeen = false;
  function onWidgetEvent(data) {
    // A plain iframe may say `ready` to the page and again over the port: once is enough.
    if (data.name === 'ready' && existing && readySeen) return;
    if (data.name === 'ready') readySeen = true;
    if (!existing && data.name === 'resize' && data.payload && data.payload.height >= 0) iframe.style.height = `${Math.ceil(data.payload.height)}px`;
    if (!existing && data.name === 'ready' && data.payload && data.payload.title) iframe.title = data.payload.title;
    emit(data.name, data.payload);
  }

  function onPortMessage(event) {
    const data = event.data;
    if (!isMessage(data)) return;
    if (data.type === 'token-request') {
      // A fixed string cannot be renewed: the host must call setToken().
      if (typeof source !== 'function' && data.reason !== 'initial') fail('token_expired', text('token_expired'));
      else sendToken(nextToken());
    } else if (data.type === 'event') onWidgetEvent(data);
    else if (data.type === 'command-result' && pending[data.id]) pending[data.id](data);
  }

  function onWindowMessage(event) {
    // Only our own iframe, served from the server's exact origin, may talk to us.
    if (event.origin !== serverOrigin || !iframe || event.source !== iframe.contentWindow) return;
    // A plain iframe posts its events to the page until a port exists.
    if (existing && !port && isMessage(event.data, 'event')) return onWidgetEvent(event.data);
    if (!isMessage(event.data, 'hello') || port) return;
    const channel = new MessageChannel();
    port = channel.port1;
    port.onmessage = onPortMessage;
    iframe.contentWindow.postMessage(message('connect', {}), serverOrigin, [channel.port2]);
    // A plain iframe brought its token in its URL; the SDK's own frame gets it now.
    if (!existing) sendToken(first || nextToken());
    first = null;
    while (queue.length) port.postMessage(queue.shift());
  }

  function create(app) {
    if (signal.aborted) return;
    const url = new URL(`embed/${encodeURIComponent(o.widget)}`, base);
    const q = url.searchParams;
    q.set('app', app);
    q.set('host_origin', location.origin);
    q.set('locale', locale);
    for (const [k, v] of Object.entries(o.params || {})) q.set(`param.${k}`, typeof v === 'string' ? v : JSON.stringify(v));
    for (const [k, v] of Object.entries(o.theme || {})) q.set(`theme.${k}`, v);
    iframe = document.createElement('iframe');
    iframe.src = url.href;
    iframe.title = `${TITLES[locale]}: ${o.widget}`;
    iframe.setAttribute('referrerpolicy', 'no-referrer');
    const sandbox = frameSandbox(serverOrigin, location.origin);
    if (sandbox) iframe.setAttribute('sandbox', sandbox);
    iframe.style.cssText = `display:block;width:100%;border:0;height:${o.height || 150}px`;
    addEventListener('message', onWindowMessage);
    iframe.addEventListener('load', () =>
      later(() => port || fail('origin_denied', text('origin_denied', { origin: location.origin, app })), HELLO_AFTER_LOAD_MS),
    );
    later(() => port || fail('network', text('network', { server: serverOrigin })), HANDSHAKE_TIMEOUT_MS);
    element.appendChild(iframe);
  }

  if (existing) addEventListener('message', onWindowMessage);
  else if (o.app) create(o.app);
  else {
    first = nextToken();
    first.then((token) => {
      const app = tokenIssuer(token);
      if (app) create(app);
      else fail('token_invalid', text('token_invalid'));
    }, () => {});
  }

  const handle = {
    on(name, fn) {
      (listeners[name] = listeners[name] || []).push(fn);
      return handle;
    },
    off(name, fn) {
      listeners[name] = (listeners[name] || []).filter((f) => f !== fn);
      return handle;
    },
    send(name, payload) {
      if (signal.aborted) return Promise.reject(Object.assign(new Error(text('destroyed')), { code: 'destroyed' }));
      const id = ++commandId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => settle({ ok: false, error: { code: 'timeout', message: text('timeout', { name }) } }), COMMAND_TIMEOUT_MS);
        timers.push(timer);
        function settle(r) {
          clearTimeout(timer);
          delete pending[id];
          if (r.ok) resolve(r.result);
          else reject(Object.assign(new Error((r.error && r.error.message) || name), r.error));
        }
        pending[id] = settle;
        post(message('command', { id, name, payload }));
      });
    },
    setToken(token) {
      source = token;
      sendToken(nextToken());
    },
    destroy() {
      lifetime.abort();
      timers.forEach(clearTimeout);
      removeEventListener('message', onWindowMessage);
      for (const id of Object.keys(pending)) pending[id]({ ok: false, error: { code: 'destroyed', message: text('destroyed') } });
      if (port) port.close();
      if (iframe && !existing) iframe.remove();
      if ((existing || element).planfuse === handle) (existing || element).planfuse = null;
      port = iframe = null;
    },
    ready,
    get iframe() {
      return iframe;
    },
  };
  // Every way of embedding: the handle is also `element.planfuse` (the iframe's, for attach).
  (existing || element).planfuse = handle;
  return handle;
}

/** Options for mount() from an element's attributes (`token-url`: POST for a fresh token). */
function optionsFrom(get) {
  const json = (v) => (v ? JSON.parse(v) : undefined);
  const url = get('token-url');
  const widget = get('widget');
  return {
    widget,
    // POST {"widget": name} to the host's own backend, which answers {"token": "..."}.
    token: url
      ? () =>
          fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ widget }) })
            .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`${url}: ${r.status}`))))
            .then((j) => j.token)
      : get('token'),
    app: get('app') || undefined,
    locale: get('locale') || undefined,
    params: json(get('params')),
    theme: json(get('theme')),
    height: Number(get('height')) || undefined,
    server: get('server') || undefined,
  };
}

/** Mount every `<div data-planfuse-widget=...>` under `root` not mounted yet. */
export function scan(root = document) {
  for (const el of root.querySelectorAll('[data-planfuse-widget]')) {
    if (!el.planfuse) el.planfuse = mount(el, optionsFrom((a) => el.getAttribute(a === 'widget' ? 'data-planfuse-widget' : `data-${a}`)));
  }
}

if (typeof customElements !== 'undefined' && !customElements.get('planfuse-widget')) {
  customElements.define(
    'planfuse-widget',
    class extends HTMLElement {
      connectedCallback() {
        this.style.display = this.style.display || 'block';
        if (!this.planfuse) this.planfuse = mount(this, optionsFrom((a) => this.getAttribute(a)));
      }
      disconnectedCallback() {
        if (this.planfuse) this.planfuse.destroy();
        this.planfuse = null;
      }
    },
  );
}

/**
 * Resolves with the PlanFuse API once the page's declarative widgets are mounted (each
 * element's handle is then `element.planfuse`).
 */
export const ready = new Promise((resolve) => {
  const done = () => {
    scan();
    // After this script has run, so that the global `PlanFuse` exists.
    queueMicrotask(() => resolve(window.PlanFuse));
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', done);
  else done();
});

// `<script src=".../embed.js" async>`: code may run before or after the SDK. Functions pushed
// onto `window.PlanFuseQueue` run with the API as soon as it is there (at once afterwards),
// and `planfuse:loaded` is dispatched on `window` when it arrives.
queueMicrotask(() => {
  const api = window.PlanFuse;
  const waiting = Array.isArray(window.PlanFuseQueue) ? window.PlanFuseQueue : [];
  const run = (fn) => {
    try {
      fn(api);
    } catch (e) {
      setTimeout(() => {
        throw e;
      });
    }
  };
  window.PlanFuseQueue = { push: (...fns) => fns.forEach(run) };
  window.PlanFuseQueue.push(...waiting);
  dispatchEvent(new CustomEvent('planfuse:loaded', { detail: api }));
});
