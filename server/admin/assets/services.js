// The admin console's service page: the service catalogue with live figures, reloaded from
// the JSON report every `refresh_s` seconds. Built with DOM APIs only (text, never HTML).
import './services.css';
import { $, el, readConfig, svg } from './dom.js';

const config = readConfig('admin-config');

const KINDS = {
  function: '功能服务 · Function service',
  data: '数据服务 · Data service',
  application: '应用服务 · Application service',
  platform: '平台 · Platform',
};
// Status is told by an icon and words, never by colour alone.
const STATES = {
  ok: ['✓', '正常 · OK'],
  idle: ['○', '空闲 · Idle'],
  high_error_rate: ['⚠', '错误率高 · High error rate'],
};

let report = config.report;
let timer = null;

function selectedWindow() {
  const checked = document.querySelector('input[name="window"]:checked');
  return checked ? checked.value : '15m';
}

const percent = (rate) => `${(rate * 100).toFixed(rate && rate < 0.001 ? 3 : 1)}%`;
const ms = (value) => (value === null || value === undefined ? '—' : value < 10 ? value.toFixed(2) : value.toFixed(0));

function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString('zh-CN', { hour12: false });
}

function status(state) {
  const [icon, words] = STATES[state] || ['?', state];
  const cell = el('td', `pf-status pf-status-${state}`);
  const mark = el('span', 'pf-status-icon', icon);
  mark.setAttribute('aria-hidden', 'true');
  cell.append(mark, ' ', el('span', null, words));
  return cell;
}

/** A polyline of requests per minute (oldest first) with its figures as text for readers. */
function sparkline(values) {
  const width = 120;
  const height = 24;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const total = values.reduce((a, b) => a + b, 0);
  const label = `近 1 小时 ${total} 次请求，每分钟最多 ${Math.max(0, ...values)} 次 · ${total} requests in the last hour, at most ${Math.max(0, ...values)} a minute`;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`);
  return svg(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, width, height, class: 'pf-spark', role: 'img', 'aria-label': label },
    svg('title', {}, label),
    svg('polyline', { points: points.join(' '), fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }),
  );
}

function serviceRow(service, windowName) {
  const figures = service.windows[windowName];
  const row = el('tr');
  row.dataset.service = service.id;
  const name = el('th');
  name.scope = 'row';
  name.append(el('span', null, `${service.name['zh-CN']} · ${service.name.en}`), el('br'), el('code', null, service.base_path));
  row.append(name, el('td', null, KINDS[service.kind] || service.kind), status(service.status));
  row.append(
    el('td', 'pf-num', figures.requests),
    el('td', 'pf-num', figures.requests_per_minute.toFixed(2)),
    el('td', 'pf-num', percent(figures.client_error_rate)),
    el('td', 'pf-num', percent(figures.server_error_rate)),
    el('td', 'pf-num', ms(figures.p50_ms)),
    el('td', 'pf-num', ms(figures.p95_ms)),
    el('td', null, when(service.last_request_at)),
  );
  const spark = el('td');
  spark.append(sparkline(service.requests_per_minute_1h));
  row.append(spark);
  return row;
}

function renderDependencies() {
  const list = $('dependencies');
  list.replaceChildren();
  for (const dep of report.dependencies) {
    const item = el('li', dep.ready ? 'pf-dep-ready' : 'pf-dep-down');
    const mark = el('span', 'pf-status-icon', dep.ready ? '✓' : '✗');
    mark.setAttribute('aria-hidden', 'true');
    const words = dep.ready ? '就绪 · Ready' : `不可用 · Unavailable${dep.detail ? ` (${dep.detail})` : ''}`;
    item.append(mark, ' ', el('strong', null, `${dep.label['zh-CN']} · ${dep.label.en}`), ` (${dep.backend}): ${words}`);
    list.append(item);
  }
  const layers = report.layers;
  $('layers').textContent = layers
    ? `图层目录：${layers.layers} 个图层，${layers.features} 个要素，最近更新 ${when(layers.last_updated)} · Layer catalogue: ${layers.layers} layers, ${layers.features} features, last updated ${when(layers.last_updated)}`
    : '';
}

function render() {
  const windowName = selectedWindow();
  $('services').tBodies[0].replaceChildren(...report.services.map((s) => serviceRow(s, windowName)));
  renderDependencies();
  const problem = report.metrics_error ? ` — ${report.metrics_error}` : '';
  $('refresh-status').textContent = `更新于 · Updated ${when(report.generated_at)}${problem}`;
}

async function refresh() {
  if (document.hidden) return;
  try {
    const response = await fetch(config.report_url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (response.status === 401) {
      $('refresh-status').textContent = '登录已过期，请重新登录 · Signed out: reload the page to sign in again.';
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    report = await response.json();
    render();
  } catch (error) {
    $('refresh-status').textContent = `刷新失败，将重试 · Refresh failed, retrying (${error.message})`;
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    await refresh();
    schedule();
  }, config.refresh_s * 1000);
}

$('window').addEventListener('change', render);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) refresh();
});
render();
schedule();
