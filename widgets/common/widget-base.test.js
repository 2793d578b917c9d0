// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { $, createState, createWidget, el, layersOfKinds, problemMessage, reportedByRuntime } from './widget-base.js';
import { translator } from './i18n.js';
import { BASE_MESSAGES } from './messages.js';

/** A widget page as the server renders it: the config, the root, a token in the fragment. */
function widgetPage(locale = 'zh-CN') {
  document.body.innerHTML = `<script type="application/json" id="planfuse-config">${JSON.stringify({
    widget: 'probe',
    app: 'app_1',
    locale,
    session_url: '/embed/session',
    api_base: '/api/v1/',
    allowed_origins: ['https://host.example.com'],
    params: {},
  })}</script><main id="planfuse-root"><form id="f"><input id="area"><div id="box" hidden></div></form></main>`;
  history.replaceState(null, '', '/embed/probe?app=app_1#token=the.embed.token');
}

/** fetch answering the session exchange, then `api` for every other URL. */
function stubServer(api = () => new Response('{}', { status: 200 })) {
  const calls = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url, init) => {
      calls.push({ url: String(url), init });
      if (String(url).endsWith('/embed/session')) {
        return new Response(JSON.stringify({ session_token: 's', expires_in: 600, user: { sub: 'u' }, params: { districts: ['500112'] } }), { status: 200 });
      }
      return api(String(url), init);
    }),
  );
  return calls;
}

/** Start `widget` and wait until it is ready. */
async function started(widget, options = {}) {
  const ready = widget.start(options);
  await vi.advanceTimersByTimeAsync(0);
  return ready;
}

const MESSAGES = {
  'zh-CN': { 'only.zh': '只有中文', 'both': '中文 {n}', 'problem.note_required': '请填写说明。' },
  en: { 'only.en': 'English only', 'both': 'English {n}', 'lock.label': 'Set by the portal' },
};
const ERRORS = { illegal_transition: { 'zh-CN': '不能这样变更状态。', en: 'This status change is not allowed.' } };

describe('el and $', () => {
  beforeEach(() => widgetPage());

  it('builds elements with a class and text, never markup', () => {
    const node = el('p', 'pf-x', '<b>城镇</b>');
    expect(node.outerHTML).toBe('<p class="pf-x">&lt;b&gt;城镇&lt;/b&gt;</p>');
    expect(el('td', null, 0).textContent).toBe('0');
    expect($('area').tagName).toBe('INPUT');
  });
});

describe('t', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('falls back to zh-CN, then English, then the key', () => {
    widgetPage('en');
    const { t } = createWidget({ name: 'probe', messages: MESSAGES });
    expect(t('both', { n: 2 })).toBe('English 2');
    expect(t('only.zh')).toBe('只有中文');
    expect(t('nothing.here')).toBe('nothing.here');
    widgetPage('zh-CN');
    const zh = createWidget({ name: 'probe', messages: MESSAGES });
    expect(zh.t('both', { n: 3 })).toBe('中文 3');
    expect(zh.t('only.en')).toBe('English only');
    expect(zh.t.has('only.en')).toBe(true);
    expect(zh.t.has('nothing.here')).toBe(false);
  });

  it('knows the shared texts, which a widget may override', () => {
    widgetPage('zh-CN');
    expect(createWidget({ name: 'probe' }).t('lock.label')).toBe('已由宿主系统锁定');
    widgetPage('en');
    expect(createWidget({ name: 'probe', messages: MESSAGES }).t('lock.label')).toBe('Set by the portal');
    expect(createWidget({ name: 'probe' }).t('lock.label')).toBe('Locked by the host system');
  });

  it('uses the default locale for one it does not ship', () => {
    widgetPage('fr');
    expect(createWidget({ name: 'probe', messages: MESSAGES }).t('both', { n: 1 })).toBe('中文 1');
  });
});

describe('createState', () => {
  it('changes only through update, and tells watchers what changed', () => {
    const { state, update, watch } = createState({ page: 1, result: null });
    const seen = [];
    const stop = watch(['result'], (changed) => seen.push(changed));
    expect(update({ page: 2 })).toEqual(['page']);
    expect(seen).toEqual([]);
    expect(update((s) => ({ page: s.page + 1, result: 'r' }))).toEqual(['page', 'result']);
    expect(state.page).toBe(3);
    expect(seen).toEqual([['page', 'result']]);
    expect(update({ result: 'r' })).toEqual([]);
    expect(seen.length).toBe(1);
    stop();
    update({ result: 's' });
    expect(seen.length).toBe(1);
  });

  it('refuses assignments and keys that were never declared', () => {
    const { state, update } = createState({ page: 1 });
    expect(() => {
      state.page = 2;
    }).toThrow(/update/);
    expect(() => delete state.page).toThrow(/update/);
    expect(() => update({ pgae: 2 })).toThrow(/no key pgae/);
    expect(state.page).toBe(1);
  });
});

describe('locked parameters', () => {
  beforeEach(() => widgetPage());

  it('shows a lock drawn as SVG beside the words, not an emoji', () => {
    const { lockedLabel, lockedNote } = createWidget({ name: 'probe' });
    const label = lockedLabel();
    expect(label.className).toBe('pf-lock');
    expect(label.textContent).toBe('已由宿主系统锁定');
    expect(label.textContent).not.toMatch(/\p{Extended_Pictographic}/u);
    const icon = label.querySelector('svg');
    expect(icon.namespaceURI).toBe('http://www.w3.org/2000/svg');
    expect(icon.getAttribute('aria-hidden')).toBe('true');
    expect(icon.querySelector('path, rect')).not.toBeNull();
    const note = lockedNote('范围已锁定：<渝北区>');
    expect(note.tagName).toBe('P');
    expect(note.textContent).toBe('范围已锁定：<渝北区>');
  });

  it('disables the controls and adds the lock once', () => {
    const { markLocked } = createWidget({ name: 'probe' });
    const input = $('area');
    markLocked(input);
    markLocked(input);
    expect(input.disabled).toBe(true);
    expect(document.querySelectorAll('#f .pf-lock').length).toBe(1);
    expect(input.nextElementSibling.classList.contains('pf-lock')).toBe(true);
  });
});

/** Each test of the suite on a fresh widget page, with fake timers and its own fetch. */
function onWidgetPages() {
  beforeEach(() => {
    vi.useFakeTimers();
    widgetPage();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });
}

describe('problems', () => {
  onWidgetPages();

  const t = translator('zh-CN', { 'zh-CN': { 'problem.note_required': '请填写说明。', 'problem.field': '{field}：{message}', 'problem.unknown': '请求未能完成（HTTP {status}）。', 'problem.server': '服务器出错（HTTP {status}）' } });

  it('says in the user\'s language what went wrong, by the problem\'s code', () => {
    const ctx = { t, locale: 'zh-CN', errors: ERRORS };
    // The widget's own text first, then its manifest's, then the protocol's, then by status.
    expect(problemMessage({ code: 'note_required', detail: 'a status change needs a note' }, ctx)).toEqual({ summary: '请填写说明。', details: ['a status change needs a note'] });
    expect(problemMessage({ code: 'illegal_transition', status: 409 }, ctx).summary).toBe('不能这样变更状态。');
    expect(problemMessage({ code: 'origin_denied', status: 403 }, ctx).summary).toBe('此页面的来源不在该应用允许的来源列表中。');
    expect(problemMessage({ code: 'mystery', status: 418 }, ctx).summary).toBe('请求未能完成（HTTP 418）。');
    expect(problemMessage({ status: 502 }, ctx).summary).toBe('服务器出错（HTTP 502）');
    // A service an administrator stopped: a friendly notice, not an error code.
    const shared = { t: translator('zh-CN', BASE_MESSAGES), locale: 'zh-CN', errors: ERRORS };
    expect(problemMessage({ code: 'service_stopped', status: 503 }, shared).summary).toBe('该服务已由管理员暂停使用，请稍后再试。');
    expect(problemMessage({ text: '请选择申请用途。', code: 'invalid_request' }, ctx)).toEqual({ summary: '请选择申请用途。', details: [] });
  });

  it('lists the field errors (at most five) and leaves out offers of a fix', () => {
    const errors = [
      ...Array.from({ length: 6 }, (_, i) => ({ field: `f${i}`, message: `bad ${i}` })),
      { field: 'repair', message: 'send repair: true', repairable: true },
    ];
    const message = problemMessage({ code: 'note_required', detail: 'overall', errors: [{ field: 'repair', message: 'x', repairable: true }, ...errors] }, { t, locale: 'zh-CN' });
    expect(message.details).toEqual(['f0：bad 0', 'f1：bad 1', 'f2：bad 2', 'f3：bad 3', 'f4：bad 4']);
    expect(problemMessage({ code: 'note_required', errors: [{ where: 'J3', message: 'self-intersection' }] }, { t, locale: 'zh-CN' }).details).toEqual(['J3：self-intersection']);
  });

  it('knows which errors the runtime has shown already', () => {
    expect(reportedByRuntime({ status: 403 })).toBe(true);
    expect(reportedByRuntime({ status: 0, code: 'network' })).toBe(true);
    expect(reportedByRuntime({ status: 400 })).toBe(false);
  });

  it('shows a problem in the status line or a form, marks its fields and tells the host', async () => {
    stubServer();
    const widget = createWidget({ name: 'probe', messages: MESSAGES, errors: ERRORS });
    await started(widget);
    const problem = { code: 'illegal_transition', status: 409, errors: [{ field: 'area_min_m2', message: 'above the maximum' }, { field: 'area.max', message: 'too small' }] };
    widget.showProblem(problem, { fields: { area_min_m2: 'area', area: 'area' } });
    const status = $('planfuse-status');
    expect(status.hidden).toBe(false);
    expect(status.dataset.kind).toBe('error');
    expect(status.firstChild.textContent).toBe('不能这样变更状态。');
    expect([...status.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['area_min_m2：above the maximum', 'area.max：too small']);
    expect($('area').getAttribute('aria-invalid')).toBe('true');

    widget.showProblem({ text: '请选择申请用途。' }, { into: $('box'), code: 'invalid_request' });
    expect($('box').hidden).toBe(false);
    expect($('box').textContent).toBe('请选择申请用途。');
    expect($('area').hasAttribute('aria-invalid')).toBe(false);
  });

  it('leaves 401 and 403 to the runtime, which shows them already', async () => {
    stubServer(() => new Response(JSON.stringify({ type: 'https://planfuse.dev/problems/forbidden', detail: 'no' }), { status: 403 }));
    const widget = createWidget({ name: 'probe', messages: MESSAGES });
    await started(widget);
    const error = await widget.ctx.api('things').catch((e) => e);
    widget.showProblem(error);
    expect($('planfuse-status').textContent).toBe('没有权限执行此操作。');
  });
});

describe('the widget', () => {
  onWidgetPages();

  it('gives init the runtime context and refuses it before the start', async () => {
    stubServer();
    const widget = createWidget({ name: 'probe', state: { n: 0 } });
    expect(() => widget.ctx.api).toThrow(/before the widget started/);
    const init = vi.fn((ctx) => {
      expect(ctx).toBe(widget.ctx);
      widget.update({ n: ctx.lockedParams.districts.length });
    });
    await started(widget, { init });
    expect(init).toHaveBeenCalledOnce();
    expect(widget.state.n).toBe(1);
    expect(widget.ctx.locale).toBe('zh-CN');
    expect(() => {
      widget.ctx.user = null;
    }).toThrow(/state/);
  });

  it('picks the catalogue layers of the kinds it shows', () => {
    const catalogue = [
      { id: 'd', kind: 'district' },
      { id: 'p', kind: 'land_use_plan', visible: true },
      { id: 'r', kind: 'road' },
    ];
    expect(layersOfKinds(catalogue, { district: true, land_use_plan: false })).toEqual([
      { id: 'd', kind: 'district', visible: true },
      { id: 'p', kind: 'land_use_plan', visible: false },
    ]);
    expect(catalogue[1].visible).toBe(true);
  });
});
