// The admin console's service catalogue (服务目录): tabs by kind, keyword search, department
// and status filters, the seed platform's columns, and each service's 详情 (description,
// parameters, example, try-it form, snippet, figures, grants with each app's rate limit and
// daily quota, usage per app over the last 7 days, configuration, start and stop). A
// department administrator reads every service and is offered the controls only on their
// department's: the server says why in `manage_refused` for the others (and refuses their
// changes anyway). Built with DOM APIs only (text, never HTML).
import './catalogue.css';
import { configChanges, exampleRequest, filterQuery, parameterRows, serviceSnippet } from './catalogue-model.js';
import { $, el, problemText, readConfig, svg, timeText } from './dom.js';

const config = readConfig('admin-config');
const STATE_ICONS = { running: '✓', degraded: '⚠', stopped: '■' };

let kind = 'function';
let catalogue = config.catalogue;
let detail = null;

const base64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
const both = (text) => (text ? `${text['zh-CN']} · ${text.en}` : '');

function stateCell(service) {
  const cell = el('td', `pf-state pf-state-${service.status}`);
  const icon = el('span', 'pf-state-icon', STATE_ICONS[service.status] || '?');
  icon.setAttribute('aria-hidden', 'true');
  cell.append(icon, ' ', el('span', null, both(service.status_name)));
  return cell;
}

// --- the list --------------------------------------------------------------------------

function renderTabs() {
  const tabs = $('kind-tabs');
  tabs.replaceChildren(
    ...config.kinds.map((k) => {
      const tab = el('button', null, both(k.name));
      tab.type = 'button';
      tab.id = `tab-${k.id}`;
      tab.dataset.kind = k.id;
      tab.setAttribute('role', 'tab');
      tab.setAttribute('aria-selected', String(k.id === kind));
      tab.setAttribute('aria-controls', 'catalogue');
      tab.tabIndex = k.id === kind ? 0 : -1;
      tab.addEventListener('click', () => selectKind(k.id));
      tab.addEventListener('keydown', (event) => {
        const ids = config.kinds.map((x) => x.id);
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        event.preventDefault();
        const next = ids[(ids.indexOf(kind) + step + ids.length) % ids.length];
        selectKind(next);
        $(`tab-${next}`).focus();
      });
      return tab;
    }),
  );
  $('catalogue').setAttribute('aria-labelledby', `tab-${kind}`);
}

function fillSelects() {
  const dept = $('dept');
  for (const d of catalogue.departments) {
    const option = el('option', null, both(d.name));
    option.value = d.id;
    dept.append(option);
  }
  const status = $('status');
  for (const s of config.statuses) {
    const option = el('option', null, both(s.name));
    option.value = s.id;
    status.append(option);
  }
}

function serviceRow(service, index) {
  const row = el('tr');
  row.dataset.service = service.id;
  const name = el('th');
  name.scope = 'row';
  name.append(el('span', null, service.name['zh-CN']), el('br'), el('small', null, service.name.en));
  const button = el('button', 'pf-small', '详情 · Details');
  button.type = 'button';
  button.setAttribute('aria-label', `详情 · Details: ${service.name['zh-CN']}`);
  button.addEventListener('click', () => openDetail(service.id));
  const actions = el('td');
  actions.append(button);
  row.append(
    el('td', 'pf-num', String(index + 1)),
    name,
    el('td', null, service.interface),
    el('td', null, service.description['zh-CN']),
    el('td', null, service.dept_name['zh-CN']),
    stateCell(service),
    actions,
  );
  return row;
}

function renderList() {
  const services = catalogue.services;
  $('catalogue').tBodies[0].replaceChildren(...services.map(serviceRow));
  $('list-status').textContent = services.length
    ? `共 ${services.length} 项服务 · ${services.length} services`
    : '没有符合条件的服务 · No service matches';
}

function filters() {
  return { kind, q: $('q').value.trim(), dept: $('dept').value, status: $('status').value };
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw Object.assign(new Error(problemText(response.status, body)), { status: response.status });
  return body;
}

async function reload() {
  try {
    catalogue = await getJSON(`${config.list_url}?${filterQuery(filters())}`);
    renderList();
  } catch (error) {
    $('list-status').textContent = error.message;
  }
}

function selectKind(next) {
  kind = next;
  renderTabs();
  reload();
}

// --- 详情 -------------------------------------------------------------------------------

function section(title, ...content) {
  const box = el('section');
  box.append(el('h3', null, title), ...content);
  return box;
}

function pre(text) {
  // Long answers scroll: focusable, so a keyboard reaches them.
  const node = el('pre', null, text);
  node.tabIndex = 0;
  return node;
}

function table(headers, rows) {
  const node = el('table');
  const head = el('tr');
  head.append(...headers.map((h) => Object.assign(el('th', null, h), { scope: 'col' })));
  node.createTHead().append(head);
  const body = node.createTBody();
  for (const cells of rows) {
    const row = el('tr');
    row.append(...cells.map((c) => el('td', null, String(c))));
    body.append(row);
  }
  return node;
}

function sparkline(values) {
  const width = 240;
  const height = 32;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const total = values.reduce((a, b) => a + b, 0);
  const label = `近 1 小时 ${total} 次请求 · ${total} requests in the last hour`;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`);
  return svg(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, width, height, class: 'pf-spark', role: 'img', 'aria-label': label },
    svg('title', {}, label),
    svg('polyline', { points: points.join(' '), fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }),
  );
}

const percent = (rate) => `${(rate * 100).toFixed(1)}%`;
const ms = (v) => (v === null || v === undefined ? '—' : v.toFixed(v < 10 ? 2 : 0));

function metricsSection(metrics) {
  if (!metrics) return section('运行指标 · Figures', el('p', null, '暂无 · None'));
  const rows = Object.entries(metrics.windows).map(([name, w]) => [
    name, w.requests, percent(w.client_error_rate), percent(w.server_error_rate), ms(w.p50_ms), ms(w.p95_ms),
  ]);
  return section(
    '运行指标 · Figures',
    table(['时间范围 · Window', '请求 · Requests', '4xx', '5xx', 'p50 ms', 'p95 ms'], rows),
    sparkline(metrics.requests_per_minute_1h),
    el('p', 'pf-hint', `最近请求 · Last request: ${timeText(metrics.last_request_at)}`),
  );
}

function limitInput(grant, name, label) {
  const input = el('input', 'pf-limit');
  input.type = 'number';
  input.min = '1';
  input.step = '1';
  input.inputMode = 'numeric';
  input.placeholder = '不限 · none';
  input.value = grant[name] === null || grant[name] === undefined ? '' : String(grant[name]);
  input.setAttribute('aria-label', `${label}: ${grant.app_name}`);
  input.dataset.limit = name;
  return input;
}

function grantRow(grant, editable) {
  const row = el('tr');
  row.dataset.app = grant.app_id;
  row.append(
    el('td', null, grant.app_name),
    el('td', null, grant.app_id),
    el('td', null, grant.granted ? '可用 · Granted' : '不可用 · Not granted'),
    el('td', null, grant.explicit ? '管理员设定 · Set by an administrator' : '默认 · Default'),
  );
  if (!editable) {
    row.append(el('td', null, grant.rate_per_minute ?? '—'), el('td', null, grant.quota_per_day ?? '—'));
    return row;
  }
  const rate = limitInput(grant, 'rate_per_minute', '每分钟限流 · Calls a minute');
  const quota = limitInput(grant, 'quota_per_day', '每日配额 · Calls a day');
  const save = el('button', 'pf-small', '保存 · Save');
  save.type = 'button';
  save.setAttribute('aria-label', `保存 · Save: ${grant.app_name}`);
  const cell = (node) => {
    const td = el('td');
    td.append(node);
    return td;
  };
  const actions = el('td');
  actions.append(save);
  save.addEventListener('click', () => saveLimits(grant.app_id, rate.value, quota.value));
  row.append(cell(rate), cell(quota), actions);
  return row;
}

function grantsSection(service) {
  const grants = service.grants;
  const editable = ['data', 'function', 'application'].includes(service.kind);
  const status = el('p', null);
  status.id = 'grant-status';
  status.setAttribute('role', 'status');
  if (!grants.length) return section('授权应用 · Apps that may use it', el('p', null, '尚无宿主应用 · No host app yet'));
  const node = el('table');
  node.id = 'grants';
  const head = el('tr');
  const headers = ['应用 · App', 'ID', '授权 · Access', '来源 · Decided by', '限流（次/分钟）· Calls a minute', '配额（次/天）· Calls a day'];
  if (editable) headers.push('操作 · Action');
  head.append(...headers.map((h) => Object.assign(el('th', null, h), { scope: 'col' })));
  node.createTHead().append(head);
  node.createTBody().append(...grants.map((g) => grantRow(g, editable)));
  const note = el(
    'p',
    'pf-hint',
    '留空表示不限；超出时该应用收到 429（限流或配额用尽），其他应用不受影响。 · Empty: no limit; over a limit the app gets 429, other apps are not affected.',
  );
  return section('授权应用 · Apps that may use it', note, node, status);
}

async function saveLimits(appId, rate, quota) {
  const number = (text) => (text.trim() === '' ? null : Number(text));
  const body = { rate_per_minute: number(rate), quota_per_day: number(quota) };
  const url = config.grant_url.replace('SERVICE', encodeURIComponent(detail.id)).replace('APP', encodeURIComponent(appId));
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': config.csrf_token },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    $('grant-status').textContent = problemText(response.status, await response.json().catch(() => null));
    return;
  }
  await openDetail(detail.id);
  $('grant-status').textContent = '已保存 · Saved';
}

function usageSection(usage) {
  if (!usage) return section('调用量 · Usage', el('p', null, '暂无 · None'));
  const days = usage.days.map((d) => d.slice(5));
  const rows = usage.apps.map((a) => [
    `${a.app_name} (${a.app_id})`,
    ...a.days.map((d) => (d.errors ? `${d.calls} (${d.errors} 错误 · errors)` : String(d.calls))),
    `${a.calls} / ${a.errors}`,
  ]);
  const caption = `近 ${usage.days.length} 天（${usage.timezone}）共调用 ${usage.calls} 次、错误 ${usage.errors} 次 · ${usage.calls} calls, ${usage.errors} errors in the last ${usage.days.length} days (${usage.timezone})`;
  const node = rows.length
    ? table(['应用 · App', ...days, '合计 调用/错误 · Total calls/errors'], rows)
    : el('p', null, '近期没有应用调用 · No app called it lately');
  if (rows.length) node.id = 'usage';
  return section('调用量 · Usage', el('p', 'pf-hint', caption), node);
}

function parametersSection(service) {
  const parts = [];
  for (const endpoint of service.endpoints) {
    parts.push(el('p', null, `${endpoint.method} ${endpoint.url}${endpoint.subpaths ? ' …' : ''}`));
    const rows = parameterRows(endpoint).map((r) => [r.name, r.where, r.required ? '是 · yes' : '否 · no', r.type, r.description]);
    if (rows.length) parts.push(table(['参数 · Name', '位置 · In', '必填 · Required', '类型 · Type', '说明 · Description'], rows));
  }
  return section('接口与参数 · Endpoints and parameters', ...parts);
}

function tryItSection(service) {
  const endpoint = service.endpoints[0];
  const request = exampleRequest(endpoint, service.example);
  const form = el('form', 'pf-try');
  form.id = 'try-form';
  const field = (id, label, input) => {
    const l = el('label', null, label);
    l.htmlFor = id;
    input.id = id;
    form.append(l, input);
    return input;
  };
  const method = field('try-method', '方法 · Method', el('input'));
  method.value = request.method;
  method.readOnly = true;
  const url = field('try-url', '地址 · URL', el('input'));
  url.value = request.url;
  const body = field('try-body', '请求体 (JSON) · Body', el('textarea'));
  body.value = request.body === null ? '' : JSON.stringify(request.body, null, 2);
  const app = field('try-app', '应用 ID · App id', el('input'));
  app.autocomplete = 'off';
  const secret = field('try-secret', '应用密钥 · App secret', el('input'));
  secret.type = 'password';
  secret.autocomplete = 'off';
  const send = el('button', null, '发送 · Send');
  send.type = 'submit';
  const answer = pre('');
  answer.id = 'try-answer';
  answer.setAttribute('aria-live', 'polite');
  form.append(send);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let payload;
    try {
      payload = body.value.trim() ? JSON.parse(body.value) : undefined;
    } catch (error) {
      answer.textContent = `请求体不是合法的 JSON · The body is not valid JSON: ${error.message}`;
      return;
    }
    if (!url.value.startsWith('/')) {
      answer.textContent = '地址须以 / 开头（本服务器）· The URL must start with / (this server).';
      return;
    }
    const headers = { Accept: 'application/json' };
    if (app.value) headers.Authorization = `Basic ${base64(`${app.value}:${secret.value}`)}`;
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    answer.textContent = '…';
    try {
      const response = await fetch(url.value, {
        method: request.method,
        headers,
        credentials: 'omit',
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
      const text = await response.text();
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // not JSON: shown as it came
      }
      answer.textContent = `HTTP ${response.status}\n${shown.slice(0, 20000)}`;
    } catch (error) {
      answer.textContent = problemText(0, null);
    }
  });
  const note = el('p', 'pf-hint', '以宿主应用的身份调用（HTTP Basic），密钥只在本页使用，不会保存。 · Calls as a host app (HTTP Basic); the secret stays in this page and is not stored.');
  return section('在线调试 · Try it', note, form, answer);
}

function configInput(item) {
  let input;
  if (item.type === 'boolean') {
    input = el('input');
    input.type = 'checkbox';
    input.checked = Boolean(item.value);
  } else if (item.choices) {
    input = el('select');
    for (const choice of item.choices) input.append(Object.assign(el('option', null, choice), { value: choice }));
    input.value = item.value;
  } else {
    input = el('input', 'pf-limit');
    if (item.type !== 'string') {
      input.type = 'number';
      input.step = item.type === 'integer' ? '1' : 'any';
      if (item.minimum !== null) input.min = String(item.minimum);
      if (item.maximum !== null) input.max = String(item.maximum);
    }
    input.value = String(item.value ?? '');
    input.placeholder = `默认 · default ${item.default}`;
  }
  input.dataset.config = item.name;
  input.setAttribute('aria-label', `${item.help['zh-CN']} · ${item.name}`);
  return input;
}

function configSection(service) {
  const items = service.config || [];
  if (!items.length) return null;
  const node = el('table');
  node.id = 'config';
  const head = el('tr');
  head.append(...['配置项 · Item', '说明 · Meaning', '值 · Value', '默认值 · Default'].map((h) => Object.assign(el('th', null, h), { scope: 'col' })));
  node.createTHead().append(head);
  const inputs = items.map(configInput);
  node.createTBody().append(
    ...items.map((item, i) => {
      const row = el('tr');
      const value = el('td');
      value.append(inputs[i]);
      row.append(el('td', null, item.name), el('td', null, both(item.help)), value, el('td', null, String(item.default)));
      return row;
    }),
  );
  const noteLabel = el('label', null, '修改说明 · Note');
  noteLabel.htmlFor = 'config-note';
  const note = el('input');
  note.id = 'config-note';
  note.maxLength = 500;
  const save = el('button', null, '保存配置 · Save the configuration');
  save.type = 'button';
  save.id = 'save-config';
  const status = el('p', null);
  status.id = 'config-status';
  status.setAttribute('role', 'status');
  save.addEventListener('click', () => {
    const fields = Object.fromEntries(inputs.map((input) => [input.dataset.config, input.type === 'checkbox' ? input.checked : input.value]));
    saveConfig(configChanges(items, fields), note.value.trim());
  });
  const box = el('div', 'pf-actions');
  box.append(noteLabel, note, save);
  const hint = el('p', 'pf-hint', '留空表示使用默认值；每次修改都记录在配置历史中。 · Empty: the default; every change is kept in the configuration history.');
  return section('服务配置 · Configuration', hint, node, box, status);
}

async function saveConfig(values, note) {
  if (!Object.keys(values).length) {
    $('config-status').textContent = '没有改动 · Nothing changed';
    return;
  }
  try {
    await post(config.config_url.replace('SERVICE', encodeURIComponent(detail.id)), { values, note });
  } catch (error) {
    $('config-status').textContent = error.message;
    return;
  }
  await openDetail(detail.id);
  $('config-status').textContent = '已保存 · Saved';
}

/** In place of the controls on a service the admin may not manage: the server's reason. */
function readOnlySection(reason) {
  const note = el('p', 'pf-hint', `只读 · Read only — ${reason}`);
  note.id = 'readonly-note';
  return section('管理 · Management', note);
}

function controlSection(service) {
  const box = el('div', 'pf-actions');
  const status = el('p', null);
  status.id = 'control-status';
  status.setAttribute('role', 'status');
  if (!['data', 'function', 'application'].includes(service.kind)) return section('启停 · Start and stop', status);
  if (service.status === 'stopped') {
    const stop = service.stopped || {};
    status.textContent = `已停止 · Stopped${stop.reason ? `：${stop.reason}` : ''}${stop.restart_at ? ` · 预计恢复 · back at ${timeText(stop.restart_at)}` : ''}`;
    const start = el('button', null, '启动服务 · Start');
    start.type = 'button';
    start.id = 'start-service';
    start.addEventListener('click', () => control('start_url', {}));
    box.append(start);
  } else {
    status.textContent = both(service.status_name);
    const reasonLabel = el('label', null, '停用原因 · Reason');
    reasonLabel.htmlFor = 'stop-reason';
    const reason = el('input');
    reason.id = 'stop-reason';
    reason.maxLength = 500;
    const stop = el('button', 'pf-secondary', '停止服务 · Stop');
    stop.type = 'button';
    stop.id = 'stop-service';
    stop.addEventListener('click', () => control('stop_url', { reason: reason.value }));
    box.append(reasonLabel, reason, stop);
  }
  return section('启停 · Start and stop', status, box);
}

async function control(which, body) {
  const response = await fetch(config[which].replace('SERVICE', encodeURIComponent(detail.id)), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': config.csrf_token },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    $('control-status').textContent = problemText(response.status, await response.json().catch(() => null));
    return;
  }
  await openDetail(detail.id);
  await reload();
}

// --- departments' remote services -----------------------------------------------------

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': config.csrf_token },
    body: JSON.stringify(body),
  });
  const answer = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(problemText(response.status, answer));
  return answer;
}

function remoteSection(service) {
  const remote = service.remote;
  const health = remote.health;
  const rows = [
    ['健康状况 · Health', both(health.status_name)],
    ['延迟 · Latency', health.latency_ms === null ? '—' : `${health.latency_ms} ms`],
    ['HTTP 状态 · HTTP status', health.http_status ?? '—'],
    ['检查时间 · Checked at', health.checked_at ? timeText(health.checked_at) : '—'],
    ['问题 · Problem', health.error || '—'],
    ['服务类型 · Kind', both(remote.kind_name)],
  ];
  // The remote's own address and credential come only to an admin who may manage it.
  if ('base_url' in remote) {
    rows.push(
      ['原地址 · Remote URL', remote.base_url || '—'],
      ['OpenAPI', remote.openapi_url || '—'],
      ['访问凭据 · Credential', remote.auth ? `${remote.auth.type}${remote.auth.set ? ' · 已设置 · set' : ''}` : '—'],
    );
  }
  rows.push(['代理地址 · Proxy', `${config.origin}${remote.proxy_path}/…`]);
  const facts = table(['项目 · Field', '值 · Value'], rows);
  const title = '部门自有服务 · Department\'s own service';
  if (service.manage_refused) return section(title, facts);
  const status = el('p', null);
  status.id = 'remote-status';
  status.setAttribute('role', 'status');
  const check = el('button', null, '立即检查 · Check now');
  check.type = 'button';
  check.id = 'check-remote';
  check.addEventListener('click', () => remoteAction('check_url', '检查中… · Checking…'));
  const remove = el('button', 'pf-secondary', '注销服务 · Remove');
  remove.type = 'button';
  remove.id = 'remove-remote';
  remove.addEventListener('click', () => {
    if (window.confirm(`注销「${service.name['zh-CN']}」？ · Remove ${service.name.en}?`)) remoteAction('remove_url', '');
  });
  const box = el('div', 'pf-actions');
  box.append(check, remove);
  return section(title, facts, box, remoteChangeForm(remote), status);
}

/** Change the remote's addresses (the credential and the rest through the admin API). */
function remoteChangeForm(remote) {
  const form = el('form', 'pf-form-grid');
  form.id = 'remote-change';
  const field = (id, label, value) => {
    const l = el('label', null, label);
    l.htmlFor = id;
    const input = el('input');
    input.id = id;
    input.type = 'url';
    input.maxLength = 2000;
    input.value = value || '';
    form.append(l, input);
    return input;
  };
  const base = field('remote-base-url', '服务地址 · Base URL', remote.base_url);
  base.required = true;
  const openapi = field('remote-openapi-url', 'OpenAPI 地址（可选）· OpenAPI URL (optional)', remote.openapi_url);
  const save = el('button', null, '保存地址 · Save the address');
  save.type = 'submit';
  form.append(save);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    remoteAction('update_url', '保存中… · Saving…', { base_url: base.value.trim(), openapi_url: openapi.value.trim() || null });
  });
  return form;
}

async function remoteAction(which, busy, body = {}) {
  $('remote-status').textContent = busy;
  try {
    await post(config[which].replace('SERVICE', encodeURIComponent(detail.id)), body);
  } catch (error) {
    $('remote-status').textContent = error.message;
    return;
  }
  if (which === 'remove_url') {
    const removed = detail.id;
    $('detail').hidden = true;
    await reload();
    // After the list is drawn again, so its count does not overwrite the notice.
    $('list-status').textContent = `已注销 · Removed: ${removed} · ${$('list-status').textContent}`;
    return;
  }
  await openDetail(detail.id);
  await reload();
}

const AUTH_FIELDS = {
  basic: [['username', '用户名 · User name', 'text'], ['password', '密码 · Password', 'password']],
  bearer: [['token', '令牌 · Token', 'password']],
  header: [['name', '请求头名称 · Header name', 'text'], ['value', '请求头的值 · Header value', 'password']],
};

function showAuthFields() {
  const fields = AUTH_FIELDS[$('reg-auth').value] || [];
  [1, 2].forEach((n) => {
    const field = fields[n - 1];
    const input = $(`reg-auth-${n}`);
    const label = $(`reg-auth-${n}-label`);
    input.hidden = label.hidden = !field;
    input.required = Boolean(field);
    if (field) {
      label.textContent = field[1];
      input.type = field[2];
    }
  });
}

function fillRegisterForm() {
  // A department administrator registers under their own department only.
  const departments = catalogue.departments.filter((d) => !config.admin_dept || d.id === config.admin_dept);
  for (const d of departments) {
    const option = el('option', null, both(d.name));
    option.value = d.id;
    $('reg-dept').append(option);
  }
  $('reg-dept').disabled = Boolean(config.admin_dept);
  for (const k of config.remote_kinds) {
    const option = el('option', null, `${both(k.name)} (${k.id})`);
    option.value = k.id;
    $('reg-kind').append(option);
  }
  for (const a of config.auth_kinds) {
    const option = el('option', null, a === 'none' ? '无 · None' : a);
    option.value = a;
    $('reg-auth').append(option);
  }
  $('reg-auth').addEventListener('change', showAuthFields);
  showAuthFields();
  $('register-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.target;
    const value = (name) => form.elements[name].value.trim();
    const type = value('auth_type');
    let auth = null;
    if (AUTH_FIELDS[type]) {
      auth = { type };
      AUTH_FIELDS[type].forEach(([name], i) => { auth[name] = form.elements[`auth_${i + 1}`].value; });
    }
    const body = {
      id: value('id'),
      name: { 'zh-CN': value('name_zh'), en: value('name_en') },
      dept: value('dept'),
      kind: value('kind'),
      base_url: value('base_url'),
      openapi_url: value('openapi_url') || null,
      auth,
    };
    $('register-status').textContent = '登记中… · Registering…';
    try {
      const entry = await post(config.register_url, body);
      form.reset();
      showAuthFields();
      $('register-status').textContent = `已登记 · Registered: ${entry.id}`;
      selectKind(entry.kind);
      await openDetail(entry.id);
    } catch (error) {
      $('register-status').textContent = error.message;
    }
  });
}

function renderDetail() {
  const service = detail;
  $('detail-h').textContent = `详情 · Details: ${service.name['zh-CN']} · ${service.name.en}`;
  const facts = table(
    ['项目 · Field', '值 · Value'],
    [
      ['服务 ID · Id', service.id],
      ['类型 · Kind', both(service.kind_name)],
      ['接口方式 · Interface', service.interface],
      ['发布部门 · Department', both(service.dept_name)],
      ['版本 · Version', service.version],
      ['服务状态 · Status', both(service.status_name)],
    ],
  );
  const snippet = serviceSnippet(service, config.origin);
  const request = exampleRequest(service.endpoints[0], service.example);
  const example = [`${request.method} ${request.url}`];
  if (request.body !== null) example.push(JSON.stringify(request.body, null, 2));
  const parts = [
    section('功能描述 · Description', el('p', null, service.description['zh-CN']), el('p', null, service.description.en), facts),
    parametersSection(service),
    section('示例请求 · Example request', pre(example.join('\n'))),
  ];
  const output = (service.endpoints[0].schemas || {}).output;
  if (output) parts.push(section('返回结构 · Answer schema', pre(JSON.stringify(output, null, 2).slice(0, 20000))));
  if (service.kind !== 'application') parts.push(tryItSection(service));
  parts.push(
    section(service.kind === 'application' ? '嵌入代码 · Embed snippet' : '调用代码 · Call snippet', pre(snippet.text)),
    metricsSection(service.metrics),
  );
  if (service.manage_refused) parts.push(readOnlySection(service.manage_refused));
  else parts.push(...[grantsSection(service), usageSection(service.usage), configSection(service), controlSection(service)].filter(Boolean));
  if (service.remote) parts.splice(1, 0, remoteSection(service));
  const body = $('detail-body');
  body.className = 'pf-detail';
  body.replaceChildren(...parts);
  $('detail').hidden = false;
}

async function openDetail(id) {
  try {
    detail = await getJSON(config.detail_url.replace('SERVICE', encodeURIComponent(id)));
    renderDetail();
    $('detail-h').focus();
  } catch (error) {
    $('list-status').textContent = error.message;
  }
}

// --- start ------------------------------------------------------------------------------

$('filters').addEventListener('submit', (event) => {
  event.preventDefault();
  reload();
});
$('reset').addEventListener('click', () => {
  $('q').value = '';
  $('dept').value = '';
  $('status').value = '';
  reload();
});
for (const id of ['dept', 'status']) $(id).addEventListener('change', reload);
let typing = null;
$('q').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(reload, 300);
});
fillSelects();
fillRegisterForm();
renderTabs();
// The page came with every service; show the first tab's. `?service=ID` (linked from the
// embed page) opens that service's 详情 too.
const wanted = new URLSearchParams(location.search).get('service');
reload().then(() => (wanted ? openDetail(wanted) : undefined));
