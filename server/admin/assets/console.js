// The admin console's embed page: pick a widget, set its parameters, theme and locale, see
// it live (through the real SDK), and copy the host snippet and the backend code (embed-code.js).
import './console.css';
import { $, el, readConfig } from './dom.js';
import { CODE, SNIPPETS } from './embed-code.js';

const config = readConfig('admin-config');
const manifest = config.manifest;
const state = { snippet: 'script', code: 'python-helper' };
let preview = null;
let previewTurn = 0;

function option(select, value, label) {
  const o = el('option', null, label);
  o.value = value;
  select.appendChild(o);
}

/** A widget as the catalogue names it (服务目录: name, department, status); a widget
 *  outside the catalogue by its manifest title. */
function widgetTitle(w) {
  const s = w.service;
  if (!s) return `${w.title['zh-CN']} · ${w.title.en} (${w.name})`;
  return `${s.name['zh-CN']} · ${s.name.en} (${w.name}) — ${s.dept_name['zh-CN']} · ${s.status_name['zh-CN']}`;
}

/** Under the widget choice: what its catalogue entry says it does, and a stopped one's state. */
function describeWidget() {
  const w = manifest.widgets[$('widget').value];
  if (!w) return;
  const s = w.service;
  const hint = $('widget-hint');
  hint.replaceChildren();
  if (!s) {
    hint.textContent = '此组件不在服务目录中 · This widget is not in the service catalogue.';
    return;
  }
  hint.append(`${s.description['zh-CN']} · ${s.description.en} `);
  const link = el('a', null, '服务目录详情 · Catalogue entry');
  link.href = `/admin/catalogue?service=${encodeURIComponent(s.id)}`;
  hint.append(link);
  hint.classList.toggle('pf-warning', s.status === 'stopped');
}

function fillSelects() {
  for (const app of config.apps) option($('app'), app.app_id, `${app.name} (${app.app_id})${app.disabled ? ' — disabled' : ''}`);
  // /admin/embed?app=ID (linked from the host-app page) starts with that app chosen.
  const wanted = new URLSearchParams(location.search).get('app');
  if (config.apps.some((a) => a.app_id === wanted)) $('app').value = wanted;
  for (const w of Object.values(manifest.widgets)) option($('widget'), w.name, widgetTitle(w));
  for (const l of config.locales) option($('locale'), l, l);
  if (!config.apps.length) $('app-hint').textContent = '还没有宿主应用：planfuse apps create NAME --origin https://host:port · No host app yet.';
  if (!Object.keys(manifest.widgets).length) $('widget-hint').textContent = '没有已注册的组件 · No widget is registered.';
}

function field(name, spec) {
  const id = `param-${name}`;
  const wrap = el('div', 'pf-param');
  const desc = spec.description ? ` — ${spec.description['zh-CN'] || ''} ${spec.description.en || ''}` : '';
  const label = el('label', null, `${name} (${spec.type})${desc}`);
  label.htmlFor = id;
  let input;
  if (spec.enum) {
    input = el('select');
    option(input, '', '—');
    for (const v of spec.enum) option(input, JSON.stringify(v), String(v));
  } else if (spec.type === 'boolean') {
    input = el('select');
    option(input, '', '—');
    option(input, 'true', 'true');
    option(input, 'false', 'false');
  } else if (spec.type === 'array' || spec.type === 'object') {
    input = el('textarea');
    input.placeholder = spec.type === 'array' ? '["a", "b"]' : '{"key": "value"}';
  } else {
    input = el('input');
    input.type = spec.type === 'string' ? 'text' : 'number';
  }
  input.id = id;
  input.dataset.param = name;
  input.dataset.type = spec.type;
  wrap.append(label, input);
  if (spec.lockable !== false) {
    const lock = el('label', 'pf-lock');
    const box = el('input');
    box.type = 'checkbox';
    box.dataset.lock = name;
    box.checked = Boolean(spec.lockable);
    lock.append(box, ' 锁定在令牌中 · lock in the token');
    wrap.appendChild(lock);
  }
  return wrap;
}

function renderParams() {
  const box = $('params');
  box.querySelectorAll('.pf-param, .pf-hint').forEach((node) => node.remove());
  const w = manifest.widgets[$('widget').value];
  const params = (w && w.params) || {};
  if (!Object.keys(params).length) {
    box.appendChild(el('p', 'pf-hint', '此组件没有参数 · This widget has no parameters.'));
  }
  for (const [name, spec] of Object.entries(params)) box.appendChild(field(name, spec));
}

/** Each theme variable's field, holding the value widgets really use (the manifest's
 *  `theme_defaults`, what widgets/common/base.css declares); only changed values go into
 *  the snippet and the preview. A colour shows its swatch beside the text. */
function renderTheme() {
  const box = $('theme');
  const defaults = manifest.theme_defaults || {};
  for (const [name, kind] of Object.entries(manifest.theme)) {
    const wrap = el('div', 'pf-param');
    const label = el('label', null, `--pf-${name} (${kind})`);
    label.htmlFor = `theme-${name}`;
    const input = el('input');
    input.id = `theme-${name}`;
    input.type = 'text';
    input.dataset.theme = name;
    input.dataset.default = defaults[name] || '';
    input.value = defaults[name] || '';
    input.spellcheck = false;
    wrap.append(label);
    if (kind === 'color') {
      const row = el('div', 'pf-color-row');
      const swatch = el('span', 'pf-swatch');
      swatch.setAttribute('aria-hidden', 'true');
      const paint = () => {
        swatch.style.backgroundColor = '';
        swatch.style.backgroundColor = input.value;
      };
      input.addEventListener('input', paint);
      paint();
      row.append(swatch, input);
      wrap.append(row);
    } else {
      wrap.append(input);
    }
    box.appendChild(wrap);
  }
}

/** The form's values: {app, widget, locale, locked, unlocked, theme}. */
function values() {
  const locked = {};
  const unlocked = {};
  for (const input of document.querySelectorAll('[data-param]')) {
    if (input.value === '') continue;
    const name = input.dataset.param;
    let value = input.value;
    if (input.dataset.type !== 'string' || input.tagName === 'SELECT') {
      try {
        value = JSON.parse(input.value);
      } catch {
        value = input.value;
      }
    }
    const lock = document.querySelector(`[data-lock="${name}"]`);
    (lock && lock.checked ? locked : unlocked)[name] = value;
  }
  const theme = {};
  for (const input of document.querySelectorAll('[data-theme]')) {
    const value = input.value.trim();
    if (value && value !== input.dataset.default) theme[input.dataset.theme] = value;
  }
  return { app: $('app').value || 'APP_ID', widget: $('widget').value, locale: $('locale').value, locked, unlocked, theme };
}

function tabs(box, table, key) {
  // Built once; a re-render on every keystroke would swap the buttons under the pointer.
  for (const [id, [label]] of Object.entries(table)) {
    const b = el('button', null, label);
    b.type = 'button';
    b.setAttribute('role', 'tab');
    b.dataset.tab = id;
    b.addEventListener('click', () => {
      state[key] = id;
      update();
    });
    box.appendChild(b);
  }
}

function markTabs(box, selected) {
  for (const b of box.querySelectorAll('[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === selected));
}

function update() {
  const v = values();
  markTabs($('snippet-tabs'), state.snippet);
  markTabs($('code-tabs'), state.code);
  $('snippet').textContent = SNIPPETS[state.snippet][1](v, config);
  $('code').textContent = CODE[state.code][1](v, config);
  const app = config.apps.find((a) => a.app_id === $('app').value);
  $('app-hint').textContent = app ? `允许的来源 · origins: ${app.origins.join(', ')}${app.can_preview ? '' : ' — 无共享密钥，无法预览 · no shared secret, no preview'}` : $('app-hint').textContent;
}

function log(name, payload) {
  $('events').prepend(el('li', null, `${new Date().toLocaleTimeString()} ${name} ${JSON.stringify(payload)}`));
}

/** Why there is no preview yet, in the preview's place (never a blank box). */
function previewNote(text) {
  previewTurn += 1; // a preview still being fetched for an earlier choice is dropped
  if (preview) preview.destroy();
  preview = null;
  $('preview').replaceChildren(el('p', 'pf-hint pf-preview-note', text));
}

function canPreview() {
  // A department administrator: previews mint embed tokens, the platform's (the server's reason).
  if (config.preview_refused) return `无法预览 · No preview: ${config.preview_refused}`;
  const app = config.apps.find((a) => a.app_id === $('app').value);
  if (!app) return '还没有宿主应用，无法预览：planfuse apps create NAME --origin https://host:port · No host app yet: nothing to preview.';
  if (!app.can_preview) return '此宿主应用没有共享密钥或已停用，无法预览 · This host app has no shared secret or is disabled: no preview.';
  const w = manifest.widgets[$('widget').value];
  if (!w) return '没有已注册的组件 · No widget is registered.';
  if (w.service && w.service.status === 'stopped') {
    return `此组件已在服务目录中停止，无法预览；宿主页面会显示停用提示 · ${w.service.name.en} is stopped in the service catalogue: no preview; host pages show a notice instead.`;
  }
  return null;
}

async function showPreview(event) {
  if (event) event.preventDefault();
  const v = values();
  $('events').textContent = '';
  const why = canPreview();
  if (why) {
    previewNote(why);
    return;
  }
  if (preview) preview.destroy();
  preview = null;
  $('preview').replaceChildren();
  const turn = ++previewTurn;
  const res = await fetch('/admin/embed/preview-token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': config.csrf_token },
    body: JSON.stringify({ app_id: v.app, widget: v.widget, params: v.locked, locale: v.locale }),
    credentials: 'same-origin',
  });
  const body = await res.json();
  if (turn !== previewTurn) return; // a newer choice is being previewed
  if (!res.ok) {
    log('preview-error', { status: res.status, detail: body.detail });
    previewNote(`无法预览 · No preview: ${body.detail || `HTTP ${res.status}`}`);
    return;
  }
  preview = window.PlanFuse.mount($('preview'), {
    widget: v.widget,
    app: v.app,
    token: body.token,
    params: v.unlocked,
    theme: v.theme,
    locale: v.locale,
    server: `${location.origin}/`,
  });
  const names = ['ready', 'resize', 'error', ...Object.keys(manifest.widgets[v.widget].events || {})];
  for (const name of names) preview.on(name, (payload) => log(name, payload));
}

async function copy(event) {
  const target = $(event.currentTarget.dataset.copy);
  await navigator.clipboard.writeText(target.textContent);
  event.currentTarget.textContent = '已复制 · Copied';
}

fillSelects();
tabs($('snippet-tabs'), SNIPPETS, 'snippet');
tabs($('code-tabs'), CODE, 'code');
renderParams();
renderTheme();
update();
describeWidget();
$('widget').addEventListener('change', () => {
  describeWidget();
  renderParams();
  update();
  showPreview();
});
// A new app or locale shows at once too; parameters and theme on "预览 · Preview".
$('app').addEventListener('change', () => showPreview());
$('locale').addEventListener('change', () => showPreview());
$('embed-form').addEventListener('input', update);
$('embed-form').addEventListener('change', update);
$('embed-form').addEventListener('submit', showPreview);
for (const b of document.querySelectorAll('[data-copy]')) b.addEventListener('click', copy);
// The preview is there when the page opens (the first app and widget), not after a click.
if (window.PlanFuse) showPreview();
else document.querySelector('script[src="/embed.js"]').addEventListener('load', () => showPreview());
