// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  connectPort,
  problemCode,
  resolveHostOrigin,
  startWidget,
  takeFragmentToken,
  translator,
} from '../../widgets/common/runtime.js';

const HOST = 'https://host.example.com';

describe('takeFragmentToken', () => {
  it('reads #token= and removes it from the address', () => {
    const replaceState = vi.fn();
    const loc = { hash: '#token=abc.def.ghi', pathname: '/embed/probe', search: '?app=x' };
    expect(takeFragmentToken(loc, { state: null, replaceState })).toBe('abc.def.ghi');
    expect(replaceState).toHaveBeenCalledWith(null, '', '/embed/probe?app=x');
  });

  it('leaves other fragments alone', () => {
    const replaceState = vi.fn();
    expect(takeFragmentToken({ hash: '#section', pathname: '/', search: '' }, { replaceState })).toBeNull();
    expect(replaceState).not.toHaveBeenCalled();
  });
});

describe('resolveHostOrigin', () => {
  const config = { host_origin: null, allowed_origins: [HOST, 'https://b.example'] };

  it('prefers the origin the server validated', () => {
    expect(resolveHostOrigin({ ...config, host_origin: HOST }, {})).toEqual({ origin: HOST, denied: false });
  });

  it('uses ancestorOrigins when it is on the list', () => {
    expect(resolveHostOrigin(config, { ancestorOrigins: ['https://b.example'] }).origin).toBe('https://b.example');
    expect(resolveHostOrigin(config, { ancestorOrigins: ['https://evil.example'] }).origin).toBeNull();
  });

  it('denies when the real parent differs from the validated origin', () => {
    const r = resolveHostOrigin({ ...config, host_origin: HOST }, { ancestorOrigins: ['https://host.example.com.evil.net'] });
    expect(r.denied).toBe(true);
  });

  it('knows no origin when neither the server nor the browser names one', () => {
    // (The server fills host_origin in itself when the app has a single origin.)
    expect(resolveHostOrigin({ allowed_origins: [HOST, 'https://planfuse.example.org'] }, {}).origin).toBeNull();
  });
});

describe('connectPort', () => {
  const parent = {};
  const port = {};
  const msg = { planfuse: 1, type: 'connect' };

  it('accepts a connect from the parent at the exact host origin', () => {
    expect(connectPort({ origin: HOST, source: parent, data: msg, ports: [port] }, HOST, parent)).toBe(port);
  });

  it.each(['https://host.example.com.evil.net', 'null', 'http://host.example.com', 'https://host.example.com:8443'])(
    'ignores %s',
    (origin) => {
      expect(connectPort({ origin, source: parent, data: msg, ports: [port] }, HOST, parent)).toBeNull();
    },
  );

  it('ignores other windows, other versions and messages without a port', () => {
    expect(connectPort({ origin: HOST, source: {}, data: msg, ports: [port] }, HOST, parent)).toBeNull();
    expect(connectPort({ origin: HOST, source: parent, data: { ...msg, planfuse: 2 }, ports: [port] }, HOST, parent)).toBeNull();
    expect(connectPort({ origin: HOST, source: parent, data: msg, ports: [] }, HOST, parent)).toBeNull();
    expect(connectPort({ origin: HOST, source: parent, data: msg, ports: [port] }, null, parent)).toBeNull();
  });
});

describe('translations and problems', () => {
  it('defaults to zh-CN and fills placeholders', () => {
    const t = translator('en', { 'zh-CN': { a: '甲 {n}' }, en: {} });
    expect(t('a', { n: 2 })).toBe('甲 2');
    expect(t('error.forbidden')).toMatch(/permission/);
    expect(translator('zh-CN')('error.network')).toMatch(/无法连接/);
    expect(t('missing.key')).toBe('missing.key');
  });

  it('reads the stable code from a problem type', () => {
    expect(problemCode({ type: 'https://planfuse.dev/problems/token_expired' })).toBe('token_expired');
    const e = new ApiError({ type: 'https://planfuse.dev/problems/forbidden', detail: 'no' }, 403);
    expect(e.code).toBe('forbidden');
    expect(new ApiError({}, 401).code).toBe('token_invalid');
  });
});

describe('startWidget in a plain iframe', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    document.body.innerHTML = `<script type="application/json" id="planfuse-config">${JSON.stringify({
      widget: 'probe',
      app: 'app_1',
      locale: 'en',
      session_url: '/embed/session',
      api_base: '/api/v1/',
      allowed_origins: [HOST],
      params: { lines: 2 },
      theme: { primary: '#123456' },
    })}</script><main id="planfuse-root"></main>`;
    history.replaceState(null, '', '/embed/probe?app=app_1#token=the.embed.token');
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('exchanges the fragment token, renders, and reports expiry', async () => {
    const calls = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url, init) => {
        calls.push({ url: String(url), init });
        if (String(url).endsWith('/embed/session')) {
          return new Response(JSON.stringify({ session_token: 'sess', expires_in: 60, user: { sub: 'u' }, params: { project: 'P' } }), { status: 200 });
        }
        return new Response(JSON.stringify({ ok: true }), { status: 200 });
      }),
    );
    const init = vi.fn();
    const ready = startWidget({ name: 'probe', init });
    await vi.advanceTimersByTimeAsync(0);
    const ctx = await ready;
    expect(location.hash).toBe('');
    expect(JSON.parse(calls[0].init.body)).toEqual({ token: 'the.embed.token', widget: 'probe', app: 'app_1' });
    expect(calls[0].init.credentials).toBe('omit');
    expect(init).toHaveBeenCalledOnce();
    expect(ctx.params).toEqual({ lines: 2, project: 'P' });
    expect(document.documentElement.style.getPropertyValue('--pf-primary')).toBe('#123456');

    await ctx.api('things', { query: { a: 1 } });
    expect(calls[1].url).toMatch(/\/api\/v1\/things\?a=1$/);
    expect(calls[1].init.headers.Authorization).toBe('Bearer sess');

    await vi.advanceTimersByTimeAsync(61_000);
    const status = document.getElementById('planfuse-status');
    expect(status.hidden).toBe(false);
    expect(status.textContent).toMatch(/expired/);
    expect(status.getAttribute('role')).toBe('alert');
    ctx.destroy();
  });

  it('shows a refused token in the user\'s language', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ type: 'https://planfuse.dev/problems/token_invalid', detail: 'the token was already used' }), { status: 401 })),
    );
    startWidget({ name: 'probe', init: vi.fn() });
    await vi.advanceTimersByTimeAsync(0);
    // Protocol errors are shown in the user's language; the server's detail goes to the host.
    expect(document.getElementById('planfuse-status').textContent).toBe(
      'The sign-in token is not valid, so this widget cannot open.',
    );
  });
});
