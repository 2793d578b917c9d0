// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attach, mount, ready, scan } from '../src/index.js';
import { FRAME_SANDBOX, frameSandbox } from '../src/protocol.js';
import { TOKEN_TIMEOUT_MS } from '../src/timing.js';

const SERVER = 'https://planfuse.example.org';
const TOKEN = `e30.${btoa(JSON.stringify({ iss: 'app_1' }))}.sig`;

function setup(options = {}) {
  const el = document.createElement('div');
  document.body.appendChild(el);
  const handle = mount(el, { widget: 'compliance', token: TOKEN, app: 'app_1', server: SERVER, ...options });
  return { el, handle };
}

/** Let the iframe say hello; returns the host's end of the channel as the widget sees it. */
function hello(handle, origin = SERVER, source = handle.iframe.contentWindow) {
  const spy = vi.spyOn(handle.iframe.contentWindow, 'postMessage');
  window.dispatchEvent(new MessageEvent('message', { origin, source, data: { planfuse: 1, type: 'hello' } }));
  return spy;
}

async function connected(handle) {
  const spy = hello(handle);
  expect(spy).toHaveBeenCalledTimes(1);
  const [msg, origin, ports] = spy.mock.calls[0];
  expect(msg).toMatchObject({ planfuse: 1, type: 'connect' });
  expect(origin).toBe(SERVER);
  const widgetPort = ports[0];
  const received = [];
  widgetPort.onmessage = (e) => received.push(e.data);
  // The token always follows the connect; anything queued before the handshake precedes it.
  await until(() => received.some((m) => m.type === 'token'));
  return { widgetPort, received };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

/** Wait until `predicate()` holds: a MessagePort delivers in its own time, more so on a busy machine. */
async function until(predicate, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${predicate}`);
    await tick();
  }
}

afterEach(() => {
  document.body.innerHTML = '';
  vi.useRealTimers();
});

describe('mount', () => {
  it('builds the iframe URL without the token', () => {
    const { handle } = setup({ params: { project: 'p1', zoom: 3 }, theme: { primary: '#123456' }, locale: 'en' });
    const url = new URL(handle.iframe.src);
    expect(url.origin + url.pathname).toBe(`${SERVER}/embed/compliance`);
    expect(url.searchParams.get('app')).toBe('app_1');
    expect(url.searchParams.get('host_origin')).toBe(location.origin);
    expect(url.searchParams.get('locale')).toBe('en');
    expect(url.searchParams.get('param.project')).toBe('p1');
    expect(url.searchParams.get('param.zoom')).toBe('3');
    expect(url.searchParams.get('theme.primary')).toBe('#123456');
    expect(handle.iframe.src).not.toContain(TOKEN);
    expect(handle.iframe.title).toBe('PlanFuse widget: compliance');
  });

  it('sandboxes the frame on a host page of another origin', () => {
    const { handle } = setup();
    const sandbox = handle.iframe.getAttribute('sandbox').split(' ');
    expect(sandbox).toContain('allow-scripts');
    expect(sandbox).toContain('allow-same-origin');
    expect(sandbox).not.toContain('allow-top-navigation');
  });

  it('gives no sandbox that could lift itself when the page has the server\'s own origin', () => {
    // The admin console's preview: the widget is same-origin with the page.
    const { handle } = setup({ server: `${location.origin}/` });
    expect(handle.iframe.hasAttribute('sandbox')).toBe(false);
    expect(frameSandbox(SERVER, SERVER)).toBe(null);
    expect(frameSandbox(SERVER, 'https://host.example.org')).toBe(FRAME_SANDBOX);
    // Another port or scheme is another origin: the sandbox holds there.
    expect(frameSandbox(SERVER, `${SERVER}:8443`)).toBe(FRAME_SANDBOX);
    expect(frameSandbox(SERVER, SERVER.replace('https', 'http'))).toBe(FRAME_SANDBOX);
  });

  it('reads the app id from the token when not given', async () => {
    const { handle } = setup({ app: undefined });
    await tick();
    expect(new URL(handle.iframe.src).searchParams.get('app')).toBe('app_1');
  });

  it('ignores hellos from look-alike origins, null and other windows', () => {
    const { handle } = setup();
    for (const origin of ['https://planfuse.example.org.evil.net', 'null', 'http://planfuse.example.org', 'https://planfuse.example.org:444']) {
      expect(hello(handle, origin)).not.toHaveBeenCalled();
    }
    expect(hello(handle, SERVER, window)).not.toHaveBeenCalled();
    expect(hello(handle, SERVER, null)).not.toHaveBeenCalled();
  });

  it('transfers a port on a genuine hello and sends the token over it', async () => {
    const { handle } = setup();
    const { received } = await connected(handle);
    expect(received).toEqual([{ planfuse: 1, type: 'token', token: TOKEN }]);
    // A second hello does not open a second channel.
    expect(hello(handle)).not.toHaveBeenCalled();
  });

  it('resizes the iframe both ways and forwards events', async () => {
    const { el, handle } = setup();
    const { widgetPort } = await connected(handle);
    const seen = [];
    handle.on('result', (p) => seen.push(p));
    const domEvents = [];
    el.addEventListener('planfuse:result', (e) => domEvents.push(e.detail));
    widgetPort.postMessage({ planfuse: 1, type: 'event', name: 'resize', payload: { height: 640 } });
    await until(() => handle.iframe.style.height === '640px');
    widgetPort.postMessage({ planfuse: 1, type: 'event', name: 'resize', payload: { height: 120 } });
    widgetPort.postMessage({ planfuse: 1, type: 'event', name: 'result', payload: { verdict: 'fail' } });
    widgetPort.postMessage({ planfuse: 2, type: 'event', name: 'result', payload: { verdict: 'other version' } });
    // A sentinel sent last: once it is through, so is everything before it.
    let sentinel = false;
    handle.on('sentinel', () => (sentinel = true));
    widgetPort.postMessage({ planfuse: 1, type: 'event', name: 'sentinel', payload: {} });
    await until(() => sentinel);
    expect(handle.iframe.style.height).toBe('120px');
    expect(seen).toEqual([{ verdict: 'fail' }]);
    expect(domEvents).toEqual([{ verdict: 'fail' }]);
  });

  it('sends commands and resolves with their result', async () => {
    const { handle } = setup();
    const { widgetPort, received } = await connected(handle);
    const done = handle.send('highlight', { item: 'basic_farmland' });
    await until(() => received.some((m) => m.type === 'command'));
    const cmd = received.find((m) => m.type === 'command');
    expect(cmd).toMatchObject({ name: 'highlight', payload: { item: 'basic_farmland' } });
    widgetPort.postMessage({ planfuse: 1, type: 'command-result', id: cmd.id, ok: true, result: { shown: 1 } });
    await expect(done).resolves.toEqual({ shown: 1 });
    const failing = handle.send('nope');
    await until(() => received.filter((m) => m.type === 'command').length === 2);
    const cmd2 = received.filter((m) => m.type === 'command')[1];
    widgetPort.postMessage({ planfuse: 1, type: 'command-result', id: cmd2.id, ok: false, error: { code: 'unknown_command', message: 'unknown command: nope' } });
    await expect(failing).rejects.toMatchObject({ code: 'unknown_command' });
  });

  it('queues commands sent before the handshake', async () => {
    const { handle } = setup();
    handle.send('check', {}).catch(() => {});
    const { received } = await connected(handle);
    expect(received.map((m) => m.type)).toEqual(['command', 'token']);
  });

  it('calls a token function again when the widget asks', async () => {
    let n = 0;
    const token = vi.fn(async () => `t${++n}`);
    const { handle } = setup({ token });
    const { widgetPort, received } = await connected(handle);
    widgetPort.postMessage({ planfuse: 1, type: 'token-request', reason: 'refresh' });
    await until(() => received.filter((m) => m.type === 'token').length === 2);
    expect(received.filter((m) => m.type === 'token').map((m) => m.token)).toEqual(['t1', 't2']);
  });

  it('tells the host when a fixed token cannot be renewed, and setToken pushes a new one', async () => {
    const { handle } = setup();
    const { widgetPort, received } = await connected(handle);
    const errors = [];
    handle.on('error', (e) => errors.push(e.code));
    widgetPort.postMessage({ planfuse: 1, type: 'token-request', reason: 'refresh' });
    await until(() => errors.length > 0);
    expect(errors).toEqual(['token_expired']);
    handle.setToken('fresh');
    await until(() => received.at(-1).token === 'fresh');
    expect(received.at(-1)).toEqual({ planfuse: 1, type: 'token', token: 'fresh' });
  });

  it('reports an iframe that loads but never says hello, in the widget\'s language', async () => {
    vi.useFakeTimers();
    for (const [locale, words] of [['zh-CN', /来源.*是否在应用 app_1 允许的来源列表中/], ['en', /is .* an allowed origin of app app_1/]]) {
      const { handle } = setup({ locale });
      const errors = [];
      handle.on('error', (e) => errors.push(e));
      handle.iframe.dispatchEvent(new Event('load'));
      await vi.advanceTimersByTimeAsync(6_000);
      const denied = errors.find((e) => e.code === 'origin_denied');
      expect(denied.message).toMatch(words);
      expect(denied.message).toContain(location.origin);
      handle.destroy();
    }
  });

  it('destroy() cancels timers, retries, listeners and pending commands', async () => {
    vi.useFakeTimers();
    const token = vi.fn(() => Promise.reject(new Error('down')));
    const { el, handle } = setup({ token });
    const spy = vi.spyOn(handle.iframe.contentWindow, 'postMessage');
    window.dispatchEvent(new MessageEvent('message', { origin: SERVER, source: handle.iframe.contentWindow, data: { planfuse: 1, type: 'hello' } }));
    await vi.advanceTimersByTimeAsync(TOKEN_TIMEOUT_MS);
    const calls = token.mock.calls.length;
    expect(calls).toBeGreaterThan(1);
    const pending = handle.send('check');
    handle.destroy();
    await expect(pending).rejects.toMatchObject({ code: 'destroyed' });
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(token.mock.calls.length).toBe(calls);
    expect(el.querySelector('iframe')).toBeNull();
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe('declarative embedding', () => {
  it('mounts data-planfuse-widget elements and the custom element', async () => {
    document.body.innerHTML = `<div id="a" data-planfuse-widget="siting" data-token="${TOKEN}" data-server="${SERVER}" data-locale="en"></div>`;
    scan();
    await tick();
    const iframe = document.querySelector('#a iframe');
    expect(new URL(iframe.src).pathname).toBe('/embed/siting');
    const custom = document.createElement('planfuse-widget');
    custom.setAttribute('widget', 'map');
    custom.setAttribute('token', TOKEN);
    custom.setAttribute('server', SERVER);
    document.body.appendChild(custom);
    await tick();
    expect(new URL(custom.querySelector('iframe').src).pathname).toBe('/embed/map');
    custom.remove();
    expect(custom.querySelector('iframe')).toBeNull();
  });
});

describe('the handle', () => {
  it('resolves handle.ready with the ready payload', async () => {
    const { handle } = setup();
    const { widgetPort } = await connected(handle);
    widgetPort.postMessage({ planfuse: 1, type: 'event', name: 'ready', payload: { widget: 'compliance', title: 'T', locale: 'zh-CN' } });
    await expect(handle.ready).resolves.toEqual({ widget: 'compliance', title: 'T', locale: 'zh-CN' });
  });

  it('is element.planfuse for the declarative ways, once PlanFuse.ready has resolved', async () => {
    document.body.innerHTML = `<div id="a" data-planfuse-widget="siting" data-app="app_1" data-token="${TOKEN}" data-server="${SERVER}"></div>`;
    await ready;
    scan();
    const el = document.getElementById('a');
    expect(typeof el.planfuse.on).toBe('function');
    expect(el.planfuse.iframe.parentNode).toBe(el);
  });

  it('attaches to a plain iframe: events posted to the page, then a port for commands', async () => {
    document.body.innerHTML = `<iframe id="plain" src="${SERVER}/embed/compliance?app=app_1&locale=en#token=x"></iframe>`;
    const iframe = document.getElementById('plain');
    const handle = attach(iframe);
    expect(iframe.planfuse).toBe(handle);
    const seen = [];
    handle.on('ready', (p) => seen.push(p));
    const domEvents = [];
    iframe.addEventListener('planfuse:ready', (e) => domEvents.push(e.detail));
    const event = { planfuse: 1, type: 'event', name: 'ready', payload: { widget: 'compliance' } };
    // From another origin or window: ignored.
    window.dispatchEvent(new MessageEvent('message', { origin: 'https://evil.example', source: iframe.contentWindow, data: event }));
    window.dispatchEvent(new MessageEvent('message', { origin: SERVER, source: window, data: event }));
    window.dispatchEvent(new MessageEvent('message', { origin: SERVER, source: iframe.contentWindow, data: event }));
    expect(seen).toEqual([{ widget: 'compliance' }]);
    expect(domEvents).toEqual([{ widget: 'compliance' }]);
    // The widget says hello: a port, and no token sent (it came in the URL).
    const spy = hello(handle);
    const [msg, origin, ports] = spy.mock.calls[0];
    expect(msg.type).toBe('connect');
    expect(origin).toBe(SERVER);
    const received = [];
    ports[0].onmessage = (e) => received.push(e.data);
    const done = handle.send('highlight', { rule: 'basic_farmland' });
    await until(() => received.some((m) => m.type === 'command'));
    expect(received.map((m) => m.type)).toEqual(['command']);
    ports[0].postMessage({ planfuse: 1, type: 'command-result', id: received[0].id, ok: true, result: { rule: 'basic_farmland' } });
    await expect(done).resolves.toEqual({ rule: 'basic_farmland' });
    handle.destroy();
  });
});

describe('async loading', () => {
  it('runs queued functions once loaded, and at once afterwards; says planfuse:loaded', async () => {
    // (The module was imported above: its loaded step has run.)
    await new Promise((r) => setTimeout(r, 0));
    const calls = [];
    window.PlanFuseQueue.push((api) => calls.push(api), (api) => calls.push(api));
    expect(calls).toHaveLength(2);
    expect(Array.isArray(window.PlanFuseQueue)).toBe(false);
  });

  it('runs the functions a page queued before the SDK arrived, in order', async () => {
    vi.resetModules();
    const calls = [];
    window.PlanFuseQueue = [() => calls.push('first'), () => calls.push('second')];
    const loaded = new Promise((resolve) => window.addEventListener('planfuse:loaded', resolve, { once: true }));
    await import('../src/index.js');
    await loaded;
    expect(calls).toEqual(['first', 'second']);
  });
});
