// PlanFuse embed SDK: put a PlanFuse widget on a host page. See ../PROTOCOL.md.
import { isMessage, message, tokenIssuer } from './protocol.js';
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
 * handle: on(event, fn), off(event, fn), send(command, payload) -> Promise,
 *         setToken(tokenOrFunction), destroy(). Events are also dispatched on `element`
 *         as DOM CustomEvents named "planfuse:<event>".
 */
export function mount(element, options) {
  const o = options || {};
  if (!element || !o.widget || !o.token) throw new TypeError('PlanFuse.mount needs an element, a widget and a token');
  const base = o.server ? new URL(o.server, location.href).href.replace(/\/?$/, '/') : DEFAULT_SERVER;
  const serverOrigin = new URL(base).origin;
  const locale = o.locale === 'en' ? 'en' : 'zh-CN';
  const lifetime = new AbortController();
  const signal = lifetime.signal;
  const listeners = {};
  const pending = {};
  const queue = [];
  const timers = [];
  let source = o.token;
  let first = null;
  let port = null;
  let iframe = null;
  let commandId = 0;

  const emit = (name, payload) => {
    for (const fn of (listeners[name] || []).slice()) {
      try {
        fn(payload);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
    element.dispatchEvent(new CustomEvent(`planfuse:${name}`, { detail: payload }));
  };
  const later = (fn, ms) => timers.push(setTimeout(fn, ms));
  const fail = (code, text) => emit('error', { code, message: text });
  const post = (msg) => (port ? port.postMessage(msg) : queue.push(msg));

  const nextToken = () =>
    typeof source === 'function'
      ? obtainToken(source, signal, (e, attempt) => fail('network', `token function failed (${attempt + 1}): ${e.message}`))
      : Promise.resolve(source);

  const sendToken = (promise) =>
    promise.then(
      (token) => post(message('token', { token })),
      () => {}, // aborted by destroy()
    );

  function onPortMessage(event) {
    const data = event.data;
    if (!isMessage(data)) return;
    if (data.type === 'token-request') {
      // A fixed string cannot be renewed: the host must call setToken().
      if (typeof source !== 'function' && data.reason !== 'initial') fail('token_expired', 'the session needs a new token: call setToken()');
      else sendToken(nextToken());
    } else if (data.type === 'event') {
      if (data.name === 'resize' && data.payload && data.payload.height >= 0) iframe.style.height = `${Math.ceil(data.payload.height)}px`;
      if (data.name === 'ready' && data.payload && data.payload.title) iframe.title = data.payload.title;
      emit(data.name, data.payload);
    } else if (data.type === 'command-result' && pending[data.id]) {
      pending[data.id](data);
    }
  }

  function onWindowMessage(event) {
    // Only our own iframe, served from the server's exact origin, may start the handshake.
    if (event.origin !== serverOrigin || !iframe || event.source !== iframe.contentWindow) return;
    if (!isMessage(event.data, 'hello') || port) return;
    const channel = new MessageChannel();
    port = channel.port1;
    port.onmessage = onPortMessage;
    iframe.contentWindow.postMessage(message('connect', {}), serverOrigin, [channel.port2]);
    sendToken(first || nextToken());
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
    iframe.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms allow-popups allow-downloads allow-modals');
    iframe.style.cssText = `display:block;width:100%;border:0;height:${o.height || 150}px`;
    addEventListener('message', onWindowMessage);
    iframe.addEventListener('load', () =>
      later(() => port || fail('origin_denied', `the widget did not start: is ${location.origin} an allowed origin of app ${app}?`), HELLO_AFTER_LOAD_MS),
    );
    later(() => port || fail('network', `the widget did not load from ${serverOrigin}`), HANDSHAKE_TIMEOUT_MS);
    element.appendChild(iframe);
  }

  if (o.app) create(o.app);
  else {
    first = nextToken();
    first.then((token) => {
      const app = tokenIssuer(token);
      if (app) create(app);
      else fail('token_invalid', 'the token has no iss claim; pass options.app');
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
      if (signal.aborted) return Promise.reject(new Error('destroyed'));
      const id = ++commandId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => settle({ ok: false, error: { code: 'timeout', message: `no answer to ${name}` } }), COMMAND_TIMEOUT_MS);
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
      for (const id of Object.keys(pending)) pending[id]({ ok: false, error: { code: 'destroyed', message: 'destroyed' } });
      if (port) port.close();
      if (iframe) iframe.remove();
      port = iframe = null;
    },
    get iframe() {
      return iframe;
    },
  };
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

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => scan());
else scan();
