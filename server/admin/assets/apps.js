// The admin console's host-app page: the app table, the create form and one dialog per
// action. Every change is a CSRF-checked POST to a console route. A secret comes back only
// from create and rotate: it is shown once in the secret dialog, held nowhere else, and
// cleared from the dialog when it closes. Text from the server only goes through textContent.
import './apps.css';
import { $, el, problemText, readConfig, timeNode } from './dom.js';

const config = readConfig('apps-config');
const titles = Object.fromEntries(config.widgets.map((w) => [w.name, w.title]));
let apps = config.apps;
let pending = null; // the confirmed action's request, while the confirm dialog is open
let returnFocus = null; // where focus goes back to when a dialog closes

const inFuture = (iso) => Boolean(iso) && Date.parse(iso) > Date.now();
const lines = (text) => text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
const appUrl = (id, action) => `${config.app_url.replace('APP_ID', encodeURIComponent(id))}/${action}`;
const find = (id) => apps.find((a) => a.app_id === id);

/** Words for screen readers only: which app a row's button acts on. */
const hidden = (text) => el('span', 'pf-visually-hidden', text);

function widgetLabel(name) {
  const t = titles[name];
  return t ? `${t['zh-CN'] || name} · ${t.en || name} (${name})` : name;
}

// --- requests ------------------------------------------------------------------------------

/** POST `body` as JSON with the CSRF header; resolves to {status, body} (status 0: no answer). */
async function post(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': config.csrf_token },
      body: JSON.stringify(body || {}),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return { status: 0, body: null };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, body: data };
}

function clearProblems(prefix) {
  for (const node of document.querySelectorAll(`[id^="${prefix}-"][id$="-error"]`)) node.textContent = '';
  for (const node of document.querySelectorAll(`[id^="${prefix}-"][aria-invalid]`)) node.removeAttribute('aria-invalid');
}

/** The server's problem next to the field it names (`PREFIX-FIELD-error`), else atop the form. */
function showProblem(prefix, result) {
  const errors = Array.isArray(result.body?.errors) ? result.body.errors : [];
  let first = null;
  for (const e of errors) {
    const slot = e.field ? $(`${prefix}-${e.field}-error`) : null;
    if (!slot) continue;
    slot.textContent = e.message;
    const control = document.querySelector(`[aria-describedby~="${prefix}-${e.field}-error"]`);
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      first = first || control;
    }
  }
  if (first) {
    (first.matches('fieldset') ? first.querySelector('input') : first)?.focus();
    return;
  }
  $(`${prefix}-error`).textContent = problemText(result.status, result.body);
}

async function submitWith(form, request) {
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await request();
  } finally {
    button.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

function announce(text) {
  $('action-status').textContent = text;
}

// --- the table -----------------------------------------------------------------------------

function listCell(items, empty, className) {
  const td = el('td', className);
  if (!items.length) {
    td.textContent = empty;
    return td;
  }
  const ul = el('ul', 'pf-list');
  for (const item of items) ul.appendChild(el('li', null, item));
  td.appendChild(ul);
  return td;
}

function keyItem(app, key) {
  const li = el('li');
  if (key.type === 'shared_secret') {
    if (!key.expires_at) {
      li.textContent = `● 共享密钥 · Shared secret (HS256) · ${key.kid}`;
      li.title = `指纹 · Fingerprint ${key.fingerprint}`;
    } else if (inFuture(key.expires_at)) {
      li.append(`◐ 旧密钥宽限至 · Previous secret in grace until `, timeNode(key.expires_at), ` · ${key.kid}`);
    } else {
      li.append(`○ 旧密钥已失效 · Previous secret expired `, timeNode(key.expires_at), ` · ${key.kid}`);
      li.className = 'pf-muted';
    }
    return li;
  }
  li.textContent = `◆ 公钥 · Public key ${key.alg} · kid ${key.kid} `;
  const remove = el('button', 'pf-small pf-secondary', '移除 · Remove');
  remove.type = 'button';
  remove.dataset.action = 'remove-key';
  remove.dataset.kid = key.kid;
  remove.appendChild(hidden(` ${key.kid} (${app.name})`));
  li.appendChild(remove);
  return li;
}

function keysCell(app) {
  const td = el('td', 'pf-keys');
  if (!app.keys.length) {
    td.textContent = '无密钥 · No key';
    return td;
  }
  const ul = el('ul', 'pf-list');
  for (const key of app.keys) ul.appendChild(keyItem(app, key));
  td.appendChild(ul);
  return td;
}

function statusCell(app) {
  const td = el('td');
  const ul = el('ul', 'pf-list');
  ul.appendChild(
    app.disabled ? el('li', 'pf-state pf-state-off', '⊘ 已停用 · Disabled') : el('li', 'pf-state pf-state-on', '✓ 启用 · Enabled'),
  );
  const active = app.keys.some((k) => !k.expires_at || inFuture(k.expires_at));
  if (!active) ul.appendChild(el('li', 'pf-state-warn', '⚠ 无有效密钥，无法签发令牌 · No active key: no token can be signed'));
  if (app.revoked_before) {
    const li = el('li', null, '⊗ 已吊销此前签发的令牌 · Tokens issued before ');
    li.append(timeNode(app.revoked_before), ' 已吊销 · revoked');
    ul.appendChild(li);
  }
  td.appendChild(ul);
  return td;
}

function actionButton(app, action, zh, en) {
  const b = el('button', 'pf-small pf-secondary', `${zh} · ${en}`);
  b.type = 'button';
  b.dataset.action = action;
  b.appendChild(hidden(` (${app.name})`));
  return b;
}

function actionsCell(app) {
  const td = el('td');
  const wrap = el('div', 'pf-actions');
  wrap.append(
    actionButton(app, 'edit', '编辑', 'Edit'),
    actionButton(app, 'rotate', '轮换密钥', 'Rotate secret'),
    actionButton(app, 'add-key', '添加公钥', 'Add public key'),
    app.disabled ? actionButton(app, 'enable', '启用', 'Enable') : actionButton(app, 'disable', '停用', 'Disable'),
    actionButton(app, 'revoke', '吊销令牌', 'Revoke tokens'),
  );
  const link = el('a', null, '嵌入代码 · Embed');
  link.href = `${config.embed_url}?app=${encodeURIComponent(app.app_id)}`;
  link.appendChild(hidden(` (${app.name})`));
  wrap.appendChild(link);
  td.appendChild(wrap);
  return td;
}

function appRow(app, highlight) {
  const tr = el('tr');
  tr.dataset.app = app.app_id;
  if (app.disabled) tr.classList.add('pf-row-disabled');
  const id = el('th');
  id.scope = 'row';
  id.appendChild(el('code', null, app.app_id));
  if (highlight) id.append(' ', el('span', 'pf-tag', '刚更新 · updated'));
  const created = el('td');
  created.appendChild(timeNode(app.created_at));
  tr.append(
    id,
    el('td', null, app.name),
    listCell(app.origins, '—', 'pf-origins'),
    listCell(app.widgets.map(widgetLabel), '全部组件 · All widgets'),
    keysCell(app),
    statusCell(app),
    created,
    actionsCell(app),
  );
  return tr;
}

function render(highlightId) {
  const body = $('apps-body');
  body.replaceChildren(...apps.map((a) => appRow(a, a.app_id === highlightId)));
  if (!apps.length) {
    const td = el('td', null, '还没有宿主应用，用下面的表单注册 · No host app yet: register one with the form below.');
    td.colSpan = 8;
    body.appendChild(el('tr')).appendChild(td);
  }
  const off = apps.filter((a) => a.disabled).length;
  $('apps-summary').textContent = `${apps.length} 个应用，${off} 个已停用 · ${apps.length} app(s), ${off} disabled`;
}

function upsert(app) {
  const i = apps.findIndex((a) => a.app_id === app.app_id);
  if (i >= 0) apps[i] = app;
  else apps.push(app);
  render(app.app_id);
}

/** Focus this app's row heading (after its dialog closes, the row was redrawn). */
function focusRow(appId) {
  const cell = document.querySelector(`tr[data-app="${CSS.escape(appId)}"] th`);
  if (!cell) return;
  cell.tabIndex = -1;
  cell.focus();
}

// --- widgets checkboxes --------------------------------------------------------------------

function fillWidgets(fieldset, prefix, chosen) {
  for (const node of fieldset.querySelectorAll('label')) node.remove();
  for (const w of config.widgets) {
    const label = el('label', 'pf-check');
    const box = el('input');
    box.type = 'checkbox';
    box.name = 'widgets';
    box.value = w.name;
    box.id = `${prefix}-widget-${w.name}`;
    box.checked = chosen.includes(w.name);
    label.append(box, ` ${widgetLabel(w.name)}`);
    fieldset.appendChild(label);
  }
  if (!config.widgets.length) fieldset.appendChild(el('label', null, '没有已注册的组件 · No widget is registered.'));
}

const checked = (fieldset) => [...fieldset.querySelectorAll('input[type=checkbox]:checked')].map((b) => b.value);

// --- the secret, shown once ----------------------------------------------------------------

function showSecret(heading, appId, kid, secret) {
  $('secret-h').textContent = heading;
  $('secret-app').textContent = appId;
  $('secret-kid').textContent = kid || '—';
  $('secret-value').textContent = secret;
  $('secret-copied').textContent = '';
  returnFocus = appId;
  $('secret-dialog').showModal();
  $('secret-copy').focus();
}

async function copySecret() {
  const node = $('secret-value');
  try {
    await navigator.clipboard.writeText(node.textContent);
    $('secret-copied').textContent = '✓ 已复制 · Copied';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(node);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    $('secret-copied').textContent = '已选中，请按 Ctrl+C 复制 · Selected: press Ctrl+C to copy';
  }
}

function forgetSecret() {
  for (const id of ['secret-value', 'secret-app', 'secret-kid', 'secret-copied']) $(id).textContent = '';
  window.getSelection().removeAllRanges();
}

const currentKid = (app) => app.keys.filter((k) => k.type === 'shared_secret' && !k.expires_at).map((k) => k.kid).pop();

// --- create --------------------------------------------------------------------------------

async function create(event) {
  event.preventDefault();
  clearProblems('create');
  const form = $('create-form');
  const body = { name: $('create-name').value, origins: lines($('create-origins').value), widgets: checked($('create-widgets')) };
  const result = await submitWith(form, () => post(config.create_url, body));
  if (result.status !== 201) {
    showProblem('create', result);
    return;
  }
  const { app, app_id: appId } = result.body;
  form.reset();
  upsert(app);
  announce(`✓ 已注册 · Registered: ${app.name} (${appId})`);
  showSecret(`✓ 已注册 ${app.name} · Registered`, appId, currentKid(app), result.body.secret);
}

// --- the per-app dialogs -------------------------------------------------------------------

function openDialog(id, app, prefix) {
  clearProblems(prefix);
  returnFocus = app.app_id;
  $(id).dataset.app = app.app_id;
  $(id).showModal();
}

function openEdit(app) {
  $('edit-h').textContent = `编辑 · Edit ${app.name}`;
  $('edit-name').value = app.name;
  $('edit-origins').value = app.origins.join('\n');
  fillWidgets($('edit-widgets'), 'edit', app.widgets);
  openDialog('edit-dialog', app, 'edit');
}

async function saveEdit(event) {
  event.preventDefault();
  clearProblems('edit');
  const appId = $('edit-dialog').dataset.app;
  const body = { name: $('edit-name').value, origins: lines($('edit-origins').value), widgets: checked($('edit-widgets')) };
  const result = await submitWith($('edit-form'), () => post(appUrl(appId, 'edit'), body));
  if (result.status !== 200) {
    showProblem('edit', result);
    return;
  }
  $('edit-dialog').close();
  upsert(result.body.app);
  announce(`✓ 已保存 · Saved: ${result.body.app.name}`);
}

function openRotate(app) {
  $('rotate-h').textContent = `轮换密钥 · Rotate the secret of ${app.name}`;
  $('rotate-grace').value = String(config.default_grace_s);
  $('rotate-grace').max = String(config.max_grace_s);
  $('rotate-grace-hint').textContent = `默认 ${config.default_grace_s} 秒（设置 key_rotation_grace_s），0 = 旧密钥立即失效 · Default ${config.default_grace_s} s (setting key_rotation_grace_s); 0 ends the previous secret at once.`;
  openDialog('rotate-dialog', app, 'rotate');
}

async function rotate(event) {
  event.preventDefault();
  clearProblems('rotate');
  const appId = $('rotate-dialog').dataset.app;
  const raw = $('rotate-grace').value.trim();
  const grace = /^\d+$/.test(raw) ? Number(raw) : raw; // the server explains anything else
  const result = await submitWith($('rotate-form'), () => post(appUrl(appId, 'rotate'), { grace_s: grace }));
  if (result.status !== 200) {
    showProblem('rotate', result);
    return;
  }
  $('rotate-dialog').close();
  upsert(result.body.app);
  announce(`✓ 已轮换密钥 · Secret rotated: ${result.body.app.name}`);
  showSecret(`✓ ${result.body.app.name} 的新密钥 · New secret`, appId, result.body.kid, result.body.secret);
}

function openKey(app) {
  $('key-h').textContent = `添加公钥 · Add a public key to ${app.name}`;
  $('key-form').reset();
  openDialog('key-dialog', app, 'key');
}

async function addKey(event) {
  event.preventDefault();
  clearProblems('key');
  const appId = $('key-dialog').dataset.app;
  let jwk;
  try {
    jwk = JSON.parse($('key-jwk').value);
  } catch (error) {
    showProblem('key', { status: 400, body: { errors: [{ field: 'jwk', message: `不是有效的 JSON · Not valid JSON: ${error.message}` }] } });
    return;
  }
  const body = { jwk, alg: $('key-alg').value || null, kid: $('key-kid').value.trim() || null };
  const result = await submitWith($('key-form'), () => post(appUrl(appId, 'keys'), body));
  if (result.status !== 201) {
    showProblem('key', result);
    return;
  }
  $('key-dialog').close();
  upsert(result.body.app);
  announce(`✓ 已添加公钥 · Public key added: ${result.body.kid}`);
}

// --- confirmed actions ---------------------------------------------------------------------

const CONFIRM = {
  disable: (app) => ({
    title: `停用 ${app.name}？ · Disable ${app.name}?`,
    detail: '停用后，该应用的令牌全部被拒绝，已嵌入的组件停止工作；可随时重新启用。 · Every token of this app is refused and its embedded widgets stop working until it is enabled again.',
    yes: '停用 · Disable',
    done: '✓ 已停用 · Disabled',
    url: appUrl(app.app_id, 'disable'),
  }),
  enable: (app) => ({
    title: `启用 ${app.name}？ · Enable ${app.name}?`,
    detail: '启用后，该应用有效密钥签发的令牌重新被接受。 · Tokens signed with this app’s active keys are accepted again.',
    yes: '启用 · Enable',
    done: '✓ 已启用 · Enabled',
    url: appUrl(app.app_id, 'enable'),
  }),
  revoke: (app) => ({
    title: `吊销 ${app.name} 现有的令牌？ · Revoke the tokens of ${app.name}?`,
    detail: '此刻之前签发的令牌全部失效，用户需重新打开组件；之后新签发的令牌不受影响。 · Every token issued before now is refused; users reopen their widgets with new tokens.',
    yes: '吊销令牌 · Revoke tokens',
    done: '✓ 已吊销此前的令牌 · Earlier tokens revoked',
    url: appUrl(app.app_id, 'revoke'),
  }),
  'remove-key': (app, kid) => ({
    title: `移除公钥 ${kid}？ · Remove public key ${kid}?`,
    detail: `${app.name} 用此公钥签名的令牌将被拒绝。 · Tokens ${app.name} signs with this key will be refused.`,
    yes: '移除 · Remove',
    done: `✓ 已移除公钥 · Removed public key ${kid}`,
    url: appUrl(app.app_id, `keys/${encodeURIComponent(kid)}/remove`),
  }),
};

function openConfirm(app, what) {
  $('confirm-h').textContent = what.title;
  $('confirm-detail').textContent = what.detail;
  $('confirm-yes').textContent = what.yes;
  pending = what;
  openDialog('confirm-dialog', app, 'confirm');
  // Enter on a freshly opened confirmation must not do the irreversible thing.
  $('confirm-form').querySelector('[data-close]').focus();
}

async function confirmed(event) {
  event.preventDefault();
  if (!pending) return;
  const what = pending;
  const result = await submitWith($('confirm-form'), () => post(what.url, {}));
  if (result.status !== 200) {
    showProblem('confirm', result);
    return;
  }
  $('confirm-dialog').close();
  upsert(result.body.app);
  announce(`${what.done}: ${result.body.app.name}`);
}

function onTableClick(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const app = find(button.closest('tr').dataset.app);
  if (!app) return;
  const action = button.dataset.action;
  if (action === 'edit') openEdit(app);
  else if (action === 'rotate') openRotate(app);
  else if (action === 'add-key') openKey(app);
  else openConfirm(app, CONFIRM[action](app, button.dataset.kid));
}

render();
fillWidgets($('create-widgets'), 'create', []);
$('apps-body').addEventListener('click', onTableClick);
$('create-form').addEventListener('submit', create);
$('edit-form').addEventListener('submit', saveEdit);
$('rotate-form').addEventListener('submit', rotate);
$('key-form').addEventListener('submit', addKey);
$('confirm-form').addEventListener('submit', confirmed);
$('secret-copy').addEventListener('click', copySecret);
$('secret-close').addEventListener('click', () => {
  forgetSecret(); // now, not when the dialog's close event comes round
  $('secret-dialog').close();
});
$('secret-dialog').addEventListener('cancel', forgetSecret); // Esc
$('secret-dialog').addEventListener('close', forgetSecret);
$('confirm-dialog').addEventListener('close', () => {
  pending = null;
});
for (const button of document.querySelectorAll('dialog [data-close]')) {
  button.addEventListener('click', () => button.closest('dialog').close());
}
for (const dialog of document.querySelectorAll('dialog')) {
  dialog.addEventListener('close', () => {
    if (returnFocus) focusRow(returnFocus);
  });
}
