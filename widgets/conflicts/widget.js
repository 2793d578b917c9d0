// The conflict viewer (冲突检测与协调): a filterable list of conflict patches (差异图斑) beside
// the shared map — select in one, see it in the other — with each patch's sources, area,
// district and coordination history; status changes with a note for coordinators; the
// ledgers (台账) with a by-district table, a bar chart and CSV/XLSX export; and a progress
// bar while a detection job runs. Parameters, commands, events and errors: manifest.json.
import '../common/base.css';
import './widget.css';
import { positiveInteger } from '../common/commands.js';
import { clearInvalid, describe, el, table } from '../common/dom.js';
import { saveBlob } from '../common/export.js';
import { formatNumber, localized, toHa, toMu } from '../common/format.js';
import { createWidgetMap } from '../common/map.js';
import { startWidget } from '../common/runtime.js';
import {
  FINAL_JOB_STATES,
  STATUS_SYMBOLS,
  barLayout,
  changeBody,
  chartBars,
  conflictFeatures,
  emptyFilters,
  ledgerTable,
  listQuery,
  missingFields,
  nextStatuses,
  pageRange,
  parseFilters,
  percent,
} from './model.js';

const PAGE_SIZE = 50;
const POLL_MS = 500;
const SVG_NS = 'http://www.w3.org/2000/svg';

const messages = {
  'zh-CN': {
    'lock.label': '🔒 已由宿主系统锁定',
    'lock.districts': '🔒 范围已由宿主系统锁定为：{names}',
    'lock.readonly': '只读模式：不能检测或变更状态。',
    'detect.heading': '冲突检测',
    'detect.analysis': '分析类型',
    'detect.start': '开始检测',
    'detect.cancel': '取消检测',
    'detect.running': '检测中 {pct} · {stage}',
    'detect.queued': '排队等待中……',
    'detect.done': '检测完成：{count} 个差异图斑，共 {area} 公顷；碎图斑 {slivers} 个（另列）。新增 {new}，更新 {updated}，消失 {obsolete}。',
    'detect.failed': '检测失败：{message}',
    'detect.cancelled': '检测已取消，已有图斑保持不变。',
    'detect.cancelling': '正在取消……',
    'detect.missing': '缺少图层：{kinds}',
    'detect.already': '该分析已有检测任务在运行，正在显示其进度。',
    'detect.progress_label': '检测进度',
    'filters.heading': '筛选',
    'filters.analysis': '分析',
    'filters.type': '类型',
    'filters.district': '行政区',
    'filters.status': '状态',
    'filters.min_area': '最小面积（m²）',
    'filters.sliver': '只看碎图斑',
    'filters.any': '全部',
    'filters.apply': '筛选',
    'filters.reset': '重置',
    'list.count': '共 {total} 个差异图斑，显示第 {from}–{to} 个。另有碎图斑 {slivers} 个。',
    'list.count_slivers': '共 {total} 个碎图斑，显示第 {from}–{to} 个（不计入数量和面积）。',
    'list.empty': '没有符合条件的差异图斑。',
    'list.loading': '正在加载……',
    'list.patch': '图斑',
    'list.prev': '上一页',
    'list.next': '下一页',
    'list.sliver': '碎图斑',
    'list.obsolete': '已消失',
    'area.m2': '{m2} m²',
    'area.full': '{m2} m²（{ha} 公顷，{mu} 亩）',
    'detail.heading': '图斑 {id}',
    'detail.none': '在列表或地图上选择一个图斑查看详情。',
    'detail.analysis': '分析',
    'detail.type': '类型',
    'detail.area': '面积',
    'detail.district': '行政区',
    'detail.status': '状态',
    'detail.thickness': '平均宽度（2×面积/周长）',
    'detail.sliver': '碎图斑（{reason}），不计入数量和面积',
    'detail.obsolete': '最新检测中已不存在（历史保留）',
    'detail.plan_changed': '调整的规划',
    'detail.reason': '保留理由',
    'detail.sources': '来源要素',
    'detail.layer': '图层',
    'detail.kind': '类别',
    'detail.fid': '要素编号',
    'detail.code': '代码',
    'detail.class': '分类',
    'detail.version': '版本',
    'detail.outside': '位于边界外',
    'detail.zoom': '在地图上定位',
    'history.heading': '协调历史',
    'history.empty': '暂无记录。',
    'history.detected': '检测发现',
    'history.updated': '重新检测：图形或属性变化',
    'history.status': '状态变更',
    'history.note': '添加意见',
    'history.obsolete': '重新检测：图斑已消失',
    'history.reappeared': '重新检测：图斑再次出现',
    'history.by': '{who}（{app}）',
    'history.note_label': '说明',
    'history.district_opinion': '区县意见',
    'history.municipal_opinion': '市级意见',
    'history.effective_date': '生效日期',
    'history.plan_changed': '调整的规划',
    'history.reason': '保留理由',
    'history.area': '面积 {before} → {after} m²',
    'form.heading': '协调处理',
    'form.status': '处理',
    'form.note_only': '仅添加意见（状态不变）',
    'form.to': '变更为：{status}',
    'form.note': '说明（必填）',
    'form.district_opinion': '区县意见',
    'form.municipal_opinion': '市级意见',
    'form.effective_date': '生效日期',
    'form.plan_changed': '调整哪一项规划（必填）',
    'form.reason': '保留理由（必填）',
    'form.submit': '提交',
    'form.saved': '图斑 {id} 已更新为“{status}”。',
    'form.noted': '已为图斑 {id} 添加意见。',
    'form.missing': '请填写：{fields}',
    'form.final': '该图斑已有最终结论，可继续添加意见。',
    'form.obsolete': '该图斑在最新检测中已消失，不能变更状态。',
    'tabs.list': '差异图斑',
    'tabs.ledger': '台账',
    'ledger.heading': '台账',
    'ledger.name': '台账',
    'ledger.by': '统计方式',
    'ledger.by_district': '分区县',
    'ledger.by_city': '全市',
    'ledger.chart_group': '图表指标',
    'ledger.chart_total': '合计',
    'ledger.load': '刷新',
    'ledger.csv': '导出 CSV',
    'ledger.xlsx': '导出 Excel',
    'ledger.print': '打印',
    'ledger.loading': '正在计算台账……',
    'ledger.district': '区县',
    'ledger.group': '分类',
    'ledger.count': '图斑数',
    'ledger.area': '面积（公顷）',
    'ledger.share': '占比（%）',
    'ledger.subtotal': '小计',
    'ledger.group_total': '全市 · {name}',
    'ledger.total': '合计',
    'ledger.outside': '区外',
    'ledger.chart': '{title}：面积（公顷）',
    'ledger.chart_label': '{label}：{value} 公顷',
    'ledger.empty': '台账为空。',
    'ledger.missing': '缺少图层：{kinds}（相应指标未统计）',
    'ledger.note': '合计为独立汇总后四舍五入；各行与小计经受控舍入，逐项相加与合计完全一致。占比按未舍入面积计算。',
    'export.done': '已导出 {file}',
  },
  en: {
    'lock.label': '🔒 Locked by the host system',
    'lock.districts': '🔒 The scope is locked by the host system to: {names}',
    'lock.readonly': 'Read-only: no detection and no status change.',
    'detect.heading': 'Conflict detection',
    'detect.analysis': 'Analysis',
    'detect.start': 'Detect conflicts',
    'detect.cancel': 'Cancel detection',
    'detect.running': 'Detecting {pct} · {stage}',
    'detect.queued': 'Queued…',
    'detect.done': 'Detection finished: {count} conflict patches, {area} ha; {slivers} slivers (listed apart). New {new}, updated {updated}, gone {obsolete}.',
    'detect.failed': 'Detection failed: {message}',
    'detect.cancelled': 'Detection cancelled; the stored patches are unchanged.',
    'detect.cancelling': 'Cancelling…',
    'detect.missing': 'Layers missing: {kinds}',
    'detect.already': 'A detection of this analysis is already running; showing its progress.',
    'detect.progress_label': 'Detection progress',
    'filters.heading': 'Filters',
    'filters.analysis': 'Analysis',
    'filters.type': 'Type',
    'filters.district': 'District',
    'filters.status': 'Status',
    'filters.min_area': 'Minimum area (m²)',
    'filters.sliver': 'Slivers only',
    'filters.any': 'Any',
    'filters.apply': 'Filter',
    'filters.reset': 'Reset',
    'list.count': '{total} conflict patches; showing {from}–{to}. {slivers} slivers apart.',
    'list.count_slivers': '{total} slivers; showing {from}–{to} (not counted in numbers and areas).',
    'list.empty': 'No conflict patch matches.',
    'list.loading': 'Loading…',
    'list.patch': 'Patch',
    'list.prev': 'Previous page',
    'list.next': 'Next page',
    'list.sliver': 'Sliver',
    'list.obsolete': 'Gone',
    'area.m2': '{m2} m²',
    'area.full': '{m2} m² ({ha} ha, {mu} mu)',
    'detail.heading': 'Patch {id}',
    'detail.none': 'Select a patch in the list or on the map to see its details.',
    'detail.analysis': 'Analysis',
    'detail.type': 'Type',
    'detail.area': 'Area',
    'detail.district': 'District',
    'detail.status': 'Status',
    'detail.thickness': 'Mean width (2·area/perimeter)',
    'detail.sliver': 'Sliver ({reason}); not counted in numbers and areas',
    'detail.obsolete': 'Gone in the newest detection (history kept)',
    'detail.plan_changed': 'Plan changed',
    'detail.reason': 'Reason kept',
    'detail.sources': 'Source features',
    'detail.layer': 'Layer',
    'detail.kind': 'Kind',
    'detail.fid': 'Feature',
    'detail.code': 'Code',
    'detail.class': 'Class',
    'detail.version': 'Version',
    'detail.outside': 'outside the boundary',
    'detail.zoom': 'Show on the map',
    'history.heading': 'Coordination history',
    'history.empty': 'No entries.',
    'history.detected': 'Detected',
    'history.updated': 'Re-detection: geometry or attributes changed',
    'history.status': 'Status changed',
    'history.note': 'Note added',
    'history.obsolete': 'Re-detection: the patch is gone',
    'history.reappeared': 'Re-detection: the patch is back',
    'history.by': '{who} ({app})',
    'history.note_label': 'Note',
    'history.district_opinion': 'District opinion',
    'history.municipal_opinion': 'Municipal opinion',
    'history.effective_date': 'Effective date',
    'history.plan_changed': 'Plan changed',
    'history.reason': 'Reason kept',
    'history.area': 'area {before} → {after} m²',
    'form.heading': 'Coordinate',
    'form.status': 'Action',
    'form.note_only': 'Add a note only (status unchanged)',
    'form.to': 'Change to: {status}',
    'form.note': 'Note (required)',
    'form.district_opinion': 'District opinion',
    'form.municipal_opinion': 'Municipal opinion',
    'form.effective_date': 'Effective date',
    'form.plan_changed': 'Which plan changes (required)',
    'form.reason': 'Why the difference stays (required)',
    'form.submit': 'Submit',
    'form.saved': 'Patch {id} is now “{status}”.',
    'form.noted': 'Note added to patch {id}.',
    'form.missing': 'Please fill in: {fields}',
    'form.final': 'The patch has a final decision; notes can still be added.',
    'form.obsolete': 'The patch is gone in the newest detection; its status cannot change.',
    'tabs.list': 'Conflict patches',
    'tabs.ledger': 'Ledgers',
    'ledger.heading': 'Ledgers',
    'ledger.name': 'Ledger',
    'ledger.by': 'Grouped',
    'ledger.by_district': 'By district',
    'ledger.by_city': 'City-wide',
    'ledger.chart_group': 'Chart',
    'ledger.chart_total': 'Total',
    'ledger.load': 'Refresh',
    'ledger.csv': 'Export CSV',
    'ledger.xlsx': 'Export Excel',
    'ledger.print': 'Print',
    'ledger.loading': 'Computing the ledger…',
    'ledger.district': 'District',
    'ledger.group': 'Class',
    'ledger.count': 'Patches',
    'ledger.area': 'Area (ha)',
    'ledger.share': 'Share (%)',
    'ledger.subtotal': 'Subtotal',
    'ledger.group_total': 'City · {name}',
    'ledger.total': 'Total',
    'ledger.outside': 'Outside districts',
    'ledger.chart': '{title}: area (ha)',
    'ledger.chart_label': '{label}: {value} ha',
    'ledger.empty': 'The ledger is empty.',
    'ledger.missing': 'Layers missing: {kinds} (those items are not counted)',
    'ledger.note': 'The total is rounded from its own aggregate; rows and subtotals are controlled-rounded so they add up to it exactly. Shares use unrounded areas.',
    'export.done': '{file} exported',
  },
};

// --- state ----------------------------------------------------------------------------------

let ctx = null;
let options = null;
let map = null;
let catalogue = [];
let filters = emptyFilters();
let page = { offset: 0, conflicts: [], total: 0, sliver_total: 0 };
let selected = null;
let tracking = null;
let ledger = null;
let listRequest = 0;

const $ = (id) => document.getElementById(id);

function t(key, vars) {
  return ctx.t(key, vars);
}

function title(entry) {
  return localized(entry, ctx.locale);
}

function analysisOf(name) {
  return options.analyses.find((a) => a.name === name);
}

function typeTitle(analysis, code) {
  const a = analysisOf(analysis);
  const hit = a && a.types.find((x) => x.code === code);
  return hit ? `${/^\d+$/.test(code) ? `${code} ` : ''}${title(hit.title)}` : code;
}

function statusText(code) {
  const hit = options.statuses.find((s) => s.code === code);
  return `${STATUS_SYMBOLS[code] || '·'} ${hit ? title(hit.title) : code}`;
}

function kindTitle(kind) {
  const titles = {
    urban_plan: ['城乡规划', 'Urban plan'],
    land_plan: ['土地利用总体规划', 'Land plan'],
    land_use_plan: ['国土空间规划', 'Land-use plan'],
    basic_farmland: ['永久基本农田', 'Basic farmland'],
    ecological_redline: ['生态保护红线', 'Ecological red line'],
    urban_boundary: ['城镇开发边界', 'Urban development boundary'],
    district: ['行政区', 'Districts'],
  }[kind];
  return titles ? titles[ctx.locale === 'en' ? 1 : 0] : kind;
}

function districtName(code) {
  if (!code) return t('ledger.outside');
  const hit = options.districts.find((d) => d.adcode === code);
  return hit && hit.name ? hit.name : code;
}

function areaText(m2, full = false) {
  const v = (x, d) => formatNumber(ctx.locale, x, d);
  return full ? t('area.full', { m2: v(m2, 2), ha: v(toHa(m2), 4), mu: v(toMu(m2), 2) }) : t('area.m2', { m2: v(m2, 2) });
}

function locked() {
  return options.caller.locked || {};
}

function canCoordinate() {
  return Boolean(options.caller.can_coordinate);
}

function lockedLabel() {
  return el('span', 'pf-lock', t('lock.label'));
}

function choices() {
  return {
    analyses: Object.fromEntries(options.analyses.map((a) => [a.name, a.types.filter((x) => x.conflict).map((x) => x.code)])),
    statuses: options.statuses.map((s) => s.code),
    districts: options.districts.map((d) => d.adcode),
  };
}

function showProblem(error, fieldIds = {}) {
  clearInvalid();
  for (const e of error.errors || []) {
    const input = e.field && $(fieldIds[e.field]);
    if (input) input.setAttribute('aria-invalid', 'true');
  }
  const text = error.detail || error.message;
  ctx.showStatus(text, 'error');
  ctx.announce(text, { assertive: true });
  ctx.emit('error', { code: error.code || 'request_failed', message: text, status: error.status });
}

// --- tabs -----------------------------------------------------------------------------------

function setupTabs() {
  const tabs = [$('pf-tab-list'), $('pf-tab-ledger')];
  const show = (tab, focus) => {
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute('aria-selected', on ? 'true' : 'false');
      other.tabIndex = on ? 0 : -1;
      $(other.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    if (tab.id === 'pf-tab-ledger' && !ledger) loadLedger().catch(() => {});
    if (tab.id === 'pf-tab-list' && map) map.olMap.updateSize();
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => show(tab, false));
    tab.addEventListener('keydown', (event) => {
      const keys = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
      if (!(event.key in keys)) return;
      event.preventDefault();
      show(tabs[(keys[event.key] + tabs.length) % tabs.length], true);
    });
  });
  return show;
}

// --- detection ------------------------------------------------------------------------------

function renderDetect() {
  const box = $('pf-detect');
  box.textContent = '';
  const heading = el('h2', 'pf-cf-h', t('detect.heading'));
  heading.id = 'pf-detect-heading';
  box.setAttribute('aria-labelledby', heading.id);
  box.append(heading);
  if (Array.isArray(locked().districts)) {
    const names = locked().districts.map(districtName).join('、');
    box.append(el('p', 'pf-lock', t('lock.districts', { names })));
  }
  if (!canCoordinate()) {
    if (locked().readonly) box.append(el('p', 'pf-cf-hint', t('lock.readonly')));
  } else {
    const row = el('div', 'pf-cf-row');
    const label = el('label', 'pf-cf-label', t('detect.analysis'));
    label.htmlFor = 'pf-detect-analysis';
    const select = el('select');
    select.id = 'pf-detect-analysis';
    for (const a of options.analyses) {
      const option = el('option', '', title(a.title));
      option.value = a.name;
      select.append(option);
    }
    select.value = locked().analysis || filters.analysis || options.analyses[0].name;
    select.disabled = Boolean(locked().analysis);
    const start = el('button', 'pf-button', t('detect.start'));
    start.type = 'button';
    start.id = 'pf-detect-start';
    start.addEventListener('click', () => startDetection(select.value).catch(() => {}));
    const missing = el('span', 'pf-cf-hint');
    missing.id = 'pf-detect-missing';
    // Say up front which layers an analysis lacks, instead of failing after the click.
    const showMissing = () => {
      const a = analysisOf(select.value);
      const kinds = (a && a.missing) || [];
      missing.textContent = kinds.length ? t('detect.missing', { kinds: kinds.map(kindTitle).join('、') }) : '';
      start.disabled = Boolean(kinds.length) || Boolean(tracking);
    };
    select.addEventListener('change', showMissing);
    row.append(label, select);
    if (locked().analysis) row.append(lockedLabel());
    row.append(start, missing);
    box.append(row);
    showMissing();
  }
  const progress = el('div', 'pf-cf-progress');
  progress.id = 'pf-progress';
  progress.hidden = true;
  const bar = el('progress');
  bar.id = 'pf-progress-bar';
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute('aria-label', t('detect.progress_label'));
  const text = el('span', 'pf-cf-progress-text');
  text.id = 'pf-progress-text';
  text.setAttribute('role', 'status');
  const cancel = el('button', 'pf-button pf-button-secondary', t('detect.cancel'));
  cancel.type = 'button';
  cancel.id = 'pf-detect-cancel';
  cancel.hidden = !canCoordinate();
  cancel.addEventListener('click', () => cancelDetection().catch(() => {}));
  progress.append(bar, text, cancel);
  const result = el('p', 'pf-cf-result');
  result.id = 'pf-detect-result';
  result.setAttribute('role', 'status');
  box.append(progress, result);
}

async function startDetection(analysis) {
  if (tracking) return;
  $('pf-detect-result').textContent = '';
  try {
    const body = { analysis };
    const { job } = await ctx.api('conflicts/detect', { method: 'POST', body });
    track(job);
  } catch (error) {
    if (error.status === 409 && error.errors && error.errors[0] && error.errors[0].job) {
      // Another coordinator started it: follow that job instead.
      $('pf-detect-result').textContent = t('detect.already');
      track({ id: error.errors[0].job, state: 'running', progress: 0, stage: '' });
      return;
    }
    if (error.status === 409 && (error.errors || []).some((e) => e.kind)) {
      const kinds = error.errors.filter((e) => e.kind).map((e) => kindTitle(e.kind));
      $('pf-detect-result').textContent = t('detect.missing', { kinds: kinds.join('、') });
    }
    if (error.status && error.status < 500) showProblem(error);
    throw error;
  }
}

function showJob(job) {
  const box = $('pf-progress');
  box.hidden = false;
  box.dataset.state = job.state;
  $('pf-progress-bar').value = Math.round((job.progress || 0) * 100);
  $('pf-progress-text').textContent = job.state === 'queued' ? t('detect.queued') : t('detect.running', { pct: percent(job.progress), stage: job.stage || '' });
  $('pf-detect-cancel').disabled = Boolean(job.cancel_requested);
  const start = $('pf-detect-start');
  if (start) start.disabled = true;
}

function track(job) {
  tracking = job.id;
  showJob(job);
  const poll = async () => {
    if (tracking !== job.id) return;
    let current;
    try {
      current = await ctx.api(`jobs/${encodeURIComponent(job.id)}`);
    } catch {
      setTimeout(poll, POLL_MS * 4);
      return;
    }
    if (FINAL_JOB_STATES.includes(current.state)) finished(current);
    else {
      showJob(current);
      setTimeout(poll, POLL_MS);
    }
  };
  setTimeout(poll, POLL_MS);
}

function finished(job) {
  tracking = null;
  $('pf-progress').hidden = true;
  const start = $('pf-detect-start');
  if (start) start.disabled = false;
  let text;
  if (job.state === 'done') {
    const s = job.summary || {};
    const p = s.patches || {};
    text = t('detect.done', {
      count: (s.conflicts || {}).count ?? 0,
      area: formatNumber(ctx.locale, toHa((s.conflicts || {}).area_m2 || 0), 2),
      slivers: (s.slivers || {}).count ?? 0,
      new: p.new ?? 0,
      updated: p.updated ?? 0,
      obsolete: p.obsolete ?? 0,
    });
  } else if (job.state === 'cancelled') text = t('detect.cancelled');
  else text = t('detect.failed', { message: (job.error && job.error.detail) || job.stage });
  $('pf-detect-result').textContent = text;
  $('pf-detect-result').dataset.state = job.state;
  ctx.announce(text);
  ctx.emit('detection-finished', { job: job.id, state: job.state, summary: job.summary || null });
  ledger = null;
  if (job.state === 'done') loadList().catch(() => {});
}

async function cancelDetection() {
  if (!tracking) return;
  $('pf-progress-text').textContent = t('detect.cancelling');
  $('pf-detect-cancel').disabled = true;
  try {
    await ctx.api(`jobs/${encodeURIComponent(tracking)}`, { method: 'DELETE' });
  } catch (error) {
    if (error.status && error.status < 500) showProblem(error);
  }
}

// --- filters and list -----------------------------------------------------------------------

function select(id, labelText, entries, value, { disabled = false } = {}) {
  const wrap = el('div', 'pf-cf-field');
  const label = el('label', 'pf-cf-label', labelText);
  label.htmlFor = id;
  const node = el('select');
  node.id = id;
  const any = el('option', '', t('filters.any'));
  any.value = '';
  node.append(any);
  for (const [v, text] of entries) {
    const option = el('option', '', text);
    option.value = v;
    node.append(option);
  }
  node.value = value || '';
  node.disabled = disabled;
  wrap.append(label, node);
  if (disabled) wrap.append(lockedLabel());
  return wrap;
}

function renderFilters() {
  const form = $('pf-filters');
  form.textContent = '';
  form.setAttribute('aria-label', t('filters.heading'));
  const lockedAnalysis = locked().analysis;
  form.append(
    select(
      'pf-f-analysis',
      t('filters.analysis'),
      options.analyses.map((a) => [a.name, title(a.title)]),
      filters.analysis,
      { disabled: Boolean(lockedAnalysis) },
    ),
  );
  const analysis = filters.analysis || lockedAnalysis;
  const types = options.analyses
    .filter((a) => !analysis || a.name === analysis)
    .flatMap((a) => a.types.filter((x) => x.conflict).map((x) => [x.code, typeTitle(a.name, x.code)]));
  form.append(select('pf-f-type', t('filters.type'), types, filters.type));
  form.append(select('pf-f-district', t('filters.district'), options.districts.map((d) => [d.adcode, `${d.name || d.adcode}`]), filters.district));
  form.append(select('pf-f-status', t('filters.status'), options.statuses.map((s) => [s.code, statusText(s.code)]), filters.status));
  const area = el('div', 'pf-cf-field');
  const areaLabel = el('label', 'pf-cf-label', t('filters.min_area'));
  areaLabel.htmlFor = 'pf-f-min-area';
  const areaInput = el('input');
  areaInput.type = 'number';
  areaInput.min = '0';
  areaInput.step = 'any';
  areaInput.id = 'pf-f-min-area';
  areaInput.inputMode = 'decimal';
  areaInput.value = filters.min_area;
  area.append(areaLabel, areaInput);
  const sliver = el('label', 'pf-cf-check');
  const box = el('input');
  box.type = 'checkbox';
  box.id = 'pf-f-sliver';
  box.checked = filters.sliver;
  sliver.append(box, ` ${t('filters.sliver')}`);
  const apply = el('button', 'pf-button', t('filters.apply'));
  apply.type = 'submit';
  const reset = el('button', 'pf-button pf-button-secondary', t('filters.reset'));
  reset.type = 'button';
  reset.addEventListener('click', () => {
    filters = { ...emptyFilters(), analysis: lockedAnalysis || '' };
    renderFilters();
    reload();
  });
  const actions = el('div', 'pf-cf-actions');
  actions.append(apply, reset);
  form.append(area, sliver, actions);
  $('pf-f-analysis').addEventListener('change', () => {
    readFilters();
    filters.type = '';
    renderFilters();
    $('pf-f-analysis').focus();
  });
}

function readFilters() {
  filters = {
    analysis: locked().analysis || $('pf-f-analysis').value,
    type: $('pf-f-type').value,
    district: $('pf-f-district').value,
    status: $('pf-f-status').value,
    min_area: $('pf-f-min-area').value,
    sliver: $('pf-f-sliver').checked,
  };
}

function reload() {
  page.offset = 0;
  loadList().catch(() => {});
}

async function loadList() {
  const mine = ++listRequest;
  $('pf-count').textContent = t('list.loading');
  let body;
  try {
    body = await ctx.api('conflicts', { query: listQuery(filters, { limit: PAGE_SIZE, offset: page.offset, locale: ctx.locale }) });
  } catch (error) {
    if (error.status && error.status < 500) showProblem(error, { min_area: 'pf-f-min-area', type: 'pf-f-type', status: 'pf-f-status' });
    throw error;
  }
  if (mine !== listRequest) return body;
  ctx.clearStatus();
  page = { offset: page.offset, conflicts: body.conflicts, total: body.total, sliver_total: body.sliver_total };
  renderList();
  updateMap();
  return body;
}

function renderList() {
  const list = $('pf-list');
  list.textContent = '';
  const range = pageRange(page.offset, page.conflicts.length, page.total);
  $('pf-count').textContent = !page.total
    ? t('list.empty')
    : filters.sliver
      ? t('list.count_slivers', range)
      : t('list.count', { ...range, slivers: page.sliver_total });
  const ul = el('ul', 'pf-cf-items');
  ul.setAttribute('aria-label', t('tabs.list'));
  for (const c of page.conflicts) ul.append(listItem(c));
  list.append(ul);
  const pager = $('pf-pager');
  pager.textContent = '';
  const prev = el('button', 'pf-button pf-button-secondary', t('list.prev'));
  prev.type = 'button';
  prev.disabled = page.offset === 0;
  prev.addEventListener('click', () => {
    page.offset = Math.max(0, page.offset - PAGE_SIZE);
    loadList().catch(() => {});
  });
  const next = el('button', 'pf-button pf-button-secondary', t('list.next'));
  next.type = 'button';
  next.disabled = page.offset + page.conflicts.length >= page.total;
  next.addEventListener('click', () => {
    page.offset += PAGE_SIZE;
    loadList().catch(() => {});
  });
  pager.append(prev, next);
  pager.hidden = page.total <= PAGE_SIZE;
}

function sourceCodes(c) {
  return (c.sources || []).map((s) => (s.relation === 'outside' ? t('detail.outside') : `${s.code || ''}${s.name ? ` ${s.name}` : ''}`.trim() || kindTitle(s.kind))).join(' / ');
}

function listItem(c) {
  const li = el('li', 'pf-cf-item');
  li.dataset.id = String(c.id);
  li.dataset.status = c.status;
  const button = el('button', 'pf-cf-pick');
  button.type = 'button';
  button.setAttribute('aria-pressed', selected && selected.id === c.id ? 'true' : 'false');
  const typeText = typeTitle(c.analysis, c.type);
  // The button is named by what it shows (a screen reader reads what a sighted user sees).
  const head = el('span', 'pf-cf-item-head');
  const idEl = el('span', 'pf-cf-id');
  idEl.append(el('span', 'pf-visually-hidden', `${t('list.patch')} `), `#${c.id}`);
  head.append(idEl, el('span', 'pf-cf-type', typeText));
  const badge = el('span', 'pf-cf-status', statusText(c.status));
  badge.dataset.status = c.status;
  head.append(badge);
  const body = el('span', 'pf-cf-item-body');
  body.append(el('span', 'pf-cf-area', areaText(c.area_m2)), el('span', '', districtName(c.district)), el('span', 'pf-cf-codes', sourceCodes(c)));
  if (c.sliver) body.append(el('span', 'pf-cf-flag', t('list.sliver')));
  if (c.current === false) body.append(el('span', 'pf-cf-flag', t('list.obsolete')));
  button.append(head, body);
  button.addEventListener('click', () => selectConflict(c.id, { zoom: true }).catch(() => {}));
  button.addEventListener('focus', () => map && map.highlight('conflicts', String(c.id)));
  button.addEventListener('blur', () => map && map.highlight(selected ? 'conflicts' : null, selected ? String(selected.id) : null));
  li.append(button);
  return li;
}

function markSelected(id, fromMap) {
  for (const item of document.querySelectorAll('.pf-cf-item')) {
    const on = item.dataset.id === String(id);
    item.classList.toggle('pf-selected', on);
    const button = item.querySelector('button');
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    if (on && fromMap) {
      item.scrollIntoView({ block: 'nearest' });
      button.focus({ preventScroll: true });
    }
  }
}

async function selectConflict(id, { zoom = false, fromMap = false } = {}) {
  const [conflict, history] = await Promise.all([ctx.api(`conflicts/${encodeURIComponent(id)}`, { query: { locale: ctx.locale } }), ctx.api(`conflicts/${encodeURIComponent(id)}/history`)]);
  selected = conflict;
  markSelected(conflict.id, fromMap);
  if (map) {
    if (!page.conflicts.some((c) => c.id === conflict.id)) map.setOverlay('selected', conflictFeatures([conflict]), 'conflict');
    else map.clearOverlay('selected');
    const overlay = page.conflicts.some((c) => c.id === conflict.id) ? 'conflicts' : 'selected';
    map.highlight(overlay, String(conflict.id));
    if (zoom) map.fitTo({ overlay, id: String(conflict.id) }, { maxZoom: 17, padding: 60 });
  }
  renderDetail(conflict, history.history);
  ctx.emit('conflict-selected', { id: conflict.id, analysis: conflict.analysis, type: conflict.type, area_m2: conflict.area_m2, district: conflict.district, status: conflict.status });
  return conflict;
}

// --- detail ---------------------------------------------------------------------------------

function dl(pairs) {
  return describe(el('dl', 'pf-cf-facts'), pairs);
}

function renderDetail(c, history) {
  const box = $('pf-detail');
  box.textContent = '';
  const heading = el('h3', '', t('detail.heading', { id: c.id }));
  const zoom = el('button', 'pf-button pf-button-secondary pf-no-print', t('detail.zoom'));
  zoom.type = 'button';
  zoom.addEventListener('click', () => {
    const overlay = page.conflicts.some((x) => x.id === c.id) ? 'conflicts' : 'selected';
    map && map.fitTo({ overlay, id: String(c.id) }, { maxZoom: 17, padding: 60 });
  });
  const status = el('span', 'pf-cf-status', statusText(c.status));
  status.dataset.status = c.status;
  box.append(heading, zoom);
  const analysis = analysisOf(c.analysis);
  box.append(
    dl([
      [t('detail.analysis'), analysis ? title(analysis.title) : c.analysis],
      [t('detail.type'), typeTitle(c.analysis, c.type)],
      [t('detail.area'), areaText(c.area_m2, true)],
      [t('detail.district'), c.district ? `${districtName(c.district)}（${c.district}）` : t('ledger.outside')],
      [t('detail.status'), status],
      [t('detail.plan_changed'), c.plan_changed ? kindTitle(c.plan_changed) : null],
      [t('detail.reason'), c.reason],
      [t('detail.thickness'), `${formatNumber(ctx.locale, c.thickness_m, 2)} m`],
    ]),
  );
  if (c.sliver) box.append(el('p', 'pf-cf-flag', t('detail.sliver', { reason: c.sliver_reason || '' })));
  if (c.current === false) box.append(el('p', 'pf-cf-flag', t('detail.obsolete')));
  const sourceRows = (c.sources || []).map((s) => {
    const tr = el('tr');
    tr.dataset.kind = s.kind;
    tr.append(
      el('td', '', s.layer_name || s.layer || ''),
      el('td', '', kindTitle(s.kind)),
      el('td', 'pf-num', s.fid === null || s.fid === undefined ? '—' : String(s.fid)),
      el('td', '', s.relation === 'outside' ? t('detail.outside') : s.code || '—'),
      el('td', '', s.name || '—'),
      el('td', 'pf-num', s.version === null || s.version === undefined ? '—' : `v${s.version}`),
    );
    return tr;
  });
  box.append(table(t('detail.sources'), [t('detail.layer'), t('detail.kind'), t('detail.fid'), t('detail.code'), t('detail.class'), t('detail.version')], sourceRows, 'pf-cf-table'));
  box.append(renderHistory(history));
  if (canCoordinate()) box.append(renderForm(c));
}

function renderHistory(history) {
  const section = el('section', 'pf-cf-history');
  section.append(el('h4', '', t('history.heading')));
  if (!history.length) {
    section.append(el('p', 'pf-cf-hint', t('history.empty')));
    return section;
  }
  const list = el('ol', 'pf-cf-events');
  for (const e of history) {
    const li = el('li', 'pf-cf-event');
    li.dataset.action = e.action;
    const when = e.at ? new Date(e.at).toLocaleString(ctx.locale) : '';
    const who = t('history.by', { who: e.by.name || e.by.user || '—', app: e.by.app });
    let what = t(`history.${e.action}`);
    if (e.action === 'status' && e.from_status !== e.to_status) what += `：${statusText(e.from_status)} → ${statusText(e.to_status)}`;
    if (e.details && Array.isArray(e.details.area_m2)) what += `（${t('history.area', { before: formatNumber(ctx.locale, e.details.area_m2[0], 2), after: formatNumber(ctx.locale, e.details.area_m2[1], 2) })}）`;
    const head = el('div', 'pf-cf-event-head');
    const time = el('time', '', when);
    if (e.at) time.dateTime = e.at;
    head.append(time, el('span', '', ` · ${who}`));
    li.append(head, el('div', 'pf-cf-event-what', what));
    const facts = [
      [t('history.note_label'), e.note],
      [t('history.district_opinion'), e.district_opinion],
      [t('history.municipal_opinion'), e.municipal_opinion],
      [t('history.effective_date'), e.effective_date],
      [t('history.plan_changed'), e.plan_changed ? kindTitle(e.plan_changed) : null],
      [t('history.reason'), e.reason],
    ].filter(([, v]) => v);
    if (facts.length) li.append(dl(facts));
    list.append(li);
  }
  section.append(list);
  return section;
}

function field(id, labelText, control) {
  const wrap = el('div', 'pf-cf-field');
  const label = el('label', 'pf-cf-label', labelText);
  label.htmlFor = id;
  control.id = id;
  wrap.append(label, control);
  return wrap;
}

function renderForm(c) {
  const form = el('form', 'pf-cf-form pf-no-print');
  form.id = 'pf-status-form';
  form.noValidate = true;
  form.append(el('h4', '', t('form.heading')));
  const next = nextStatuses(c);
  if (c.current === false) form.append(el('p', 'pf-cf-hint', t('form.obsolete')));
  else if (!next.length) form.append(el('p', 'pf-cf-hint', t('form.final')));
  const status = el('select');
  const noteOnly = el('option', '', t('form.note_only'));
  noteOnly.value = '';
  status.append(noteOnly);
  for (const s of next) {
    const option = el('option', '', t('form.to', { status: statusText(s) }));
    option.value = s;
    status.append(option);
  }
  if (next.length) status.value = next[0];
  const textarea = () => {
    const node = el('textarea');
    node.rows = 2;
    node.maxLength = 2000;
    return node;
  };
  const date = el('input');
  date.type = 'date';
  const plan = el('select');
  for (const s of c.sources || []) {
    if (!s.kind || [...plan.options].some((o) => o.value === s.kind)) continue;
    const option = el('option', '', kindTitle(s.kind));
    option.value = s.kind;
    plan.append(option);
  }
  const planField = field('pf-form-plan', t('form.plan_changed'), plan);
  const reasonField = field('pf-form-reason', t('form.reason'), textarea());
  const sync = () => {
    planField.hidden = status.value !== 'adjusted';
    reasonField.hidden = status.value !== 'kept';
  };
  status.addEventListener('change', sync);
  const submit = el('button', 'pf-button', t('form.submit'));
  submit.type = 'submit';
  form.append(
    field('pf-form-status', t('form.status'), status),
    field('pf-form-note', t('form.note'), textarea()),
    field('pf-form-district', t('form.district_opinion'), textarea()),
    field('pf-form-municipal', t('form.municipal_opinion'), textarea()),
    field('pf-form-date', t('form.effective_date'), date),
    planField,
    reasonField,
    submit,
  );
  sync();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitChange(c).catch(() => {});
  });
  return form;
}

const FORM_FIELDS = { status: 'pf-form-status', note: 'pf-form-note', district_opinion: 'pf-form-district', municipal_opinion: 'pf-form-municipal', effective_date: 'pf-form-date', plan_changed: 'pf-form-plan', reason: 'pf-form-reason' };

async function submitChange(c) {
  const value = (id) => ($(id) ? $(id).value : '');
  const body = changeBody({
    status: value('pf-form-status'),
    note: value('pf-form-note'),
    district_opinion: value('pf-form-district'),
    municipal_opinion: value('pf-form-municipal'),
    effective_date: value('pf-form-date'),
    plan_changed: value('pf-form-plan'),
    reason: value('pf-form-reason'),
  });
  const missing = missingFields(body);
  clearInvalid($('pf-status-form'));
  if (missing.length) {
    for (const name of missing) $(FORM_FIELDS[name]).setAttribute('aria-invalid', 'true');
    const labels = missing.map((name) => document.querySelector(`label[for="${FORM_FIELDS[name]}"]`).textContent);
    const text = t('form.missing', { fields: labels.join('、') });
    ctx.showStatus(text, 'error');
    ctx.announce(text, { assertive: true });
    $(FORM_FIELDS[missing[0]]).focus();
    return null;
  }
  let updated;
  try {
    updated = await ctx.api(`conflicts/${encodeURIComponent(c.id)}`, { method: 'PATCH', body, query: { locale: ctx.locale } });
  } catch (error) {
    if (error.status && error.status < 500) showProblem(error, FORM_FIELDS);
    throw error;
  }
  ctx.clearStatus();
  const text = body.status ? t('form.saved', { id: c.id, status: statusText(updated.status) }) : t('form.noted', { id: c.id });
  ctx.announce(text);
  ctx.emit('conflict-updated', { id: updated.id, status: updated.status, from_status: c.status, note: body.note || '' });
  const index = page.conflicts.findIndex((x) => x.id === updated.id);
  if (index >= 0) {
    page.conflicts[index] = { ...page.conflicts[index], ...updated };
    renderList();
    updateMap();
  }
  await selectConflict(updated.id);
  ledger = null;
  const heading = document.querySelector('#pf-detail h3');
  if (heading) ctx.focus(heading);
  return updated;
}

// --- map ------------------------------------------------------------------------------------

function analysisKinds(name) {
  const a = analysisOf(name);
  return new Set(a ? a.kinds : []);
}

async function createConflictMap() {
  try {
    catalogue = (await ctx.api('layers')).layers || [];
  } catch {
    catalogue = [];
  }
  const kinds = analysisKinds(filters.analysis || locked().analysis || options.analyses[0].name);
  const interesting = new Set(options.analyses.flatMap((a) => a.kinds));
  const layers = catalogue.filter((l) => interesting.has(l.kind)).map((l) => ({ ...l, visible: l.kind === 'district' || kinds.has(l.kind) }));
  map = createWidgetMap(ctx, $('pf-map'), { layers, identify: false });
  map.on('select', (sel) => {
    if (sel && (sel.overlay === 'conflicts' || sel.overlay === 'selected')) selectConflict(Number(sel.id), { fromMap: true }).catch(() => {});
  });
}

function updateMap() {
  if (!map) return;
  map.setOverlay('conflicts', conflictFeatures(page.conflicts), 'conflict');
  const analysis = filters.analysis || locked().analysis;
  if (analysis) {
    const kinds = analysisKinds(analysis);
    for (const l of catalogue) if (l.kind !== 'district') map.setLayerVisible(l.id, kinds.has(l.kind));
  }
  if (selected && page.conflicts.some((c) => c.id === selected.id)) {
    map.clearOverlay('selected');
    map.highlight('conflicts', String(selected.id));
  }
  if (page.conflicts.length) map.fitTo('conflicts', { maxZoom: 15, padding: 40 });
}

// --- ledger ---------------------------------------------------------------------------------

function renderLedgerControls() {
  const panel = $('pf-panel-ledger');
  panel.textContent = '';
  const heading = el('h2', 'pf-cf-h', t('ledger.heading'));
  const form = el('form', 'pf-cf-ledger-form pf-no-print');
  form.id = 'pf-ledger-form';
  const name = el('select');
  const wanted = ['conflicts', 'urban_plan', 'land_plan', 'land_use_plan', 'comprehensive', 'basic_farmland', 'ecological_redline', 'urban_boundary'];
  for (const entry of options.ledgers.filter((l) => wanted.includes(l.name))) {
    const option = el('option', '', title(entry.title));
    option.value = entry.name;
    name.append(option);
  }
  name.value = ctx.params.ledger || 'conflicts';
  const by = el('div', 'pf-cf-radios');
  by.setAttribute('role', 'radiogroup');
  by.setAttribute('aria-label', t('ledger.by'));
  for (const [value, key] of [['district', 'ledger.by_district'], ['city', 'ledger.by_city']]) {
    const label = el('label');
    const radio = el('input');
    radio.type = 'radio';
    radio.name = 'pf-ledger-by';
    radio.value = value;
    radio.checked = value === 'district';
    radio.disabled = value === 'city' && Array.isArray(locked().districts);
    radio.addEventListener('change', () => loadLedger().catch(() => {}));
    label.append(radio, ` ${t(key)}`);
    by.append(label);
  }
  const group = el('select');
  group.addEventListener('change', () => renderChart());
  const csv = el('button', 'pf-button pf-button-secondary', t('ledger.csv'));
  csv.type = 'button';
  csv.id = 'pf-ledger-csv';
  csv.addEventListener('click', () => exportLedger('csv').catch(() => {}));
  const xlsx = el('button', 'pf-button pf-button-secondary', t('ledger.xlsx'));
  xlsx.type = 'button';
  xlsx.id = 'pf-ledger-xlsx';
  xlsx.addEventListener('click', () => exportLedger('xlsx').catch(() => {}));
  const print = el('button', 'pf-button pf-button-secondary', t('ledger.print'));
  print.type = 'button';
  print.addEventListener('click', () => window.print());
  name.addEventListener('change', () => loadLedger().catch(() => {}));
  const actions = el('div', 'pf-cf-actions');
  actions.append(csv, xlsx, print);
  form.append(field('pf-ledger-name', t('ledger.name'), name), by, field('pf-ledger-group', t('ledger.chart_group'), group), actions);
  form.addEventListener('submit', (event) => event.preventDefault());
  const output = el('div', 'pf-cf-ledger');
  output.id = 'pf-ledger-output';
  output.setAttribute('aria-live', 'polite');
  panel.append(heading, form, output);
}

function ledgerRequest() {
  const by = document.querySelector('input[name="pf-ledger-by"]:checked');
  return { name: $('pf-ledger-name').value, by: by ? by.value : 'district' };
}

async function loadLedger() {
  const { name, by } = ledgerRequest();
  const output = $('pf-ledger-output');
  output.textContent = t('ledger.loading');
  try {
    ledger = await ctx.api(`ledgers/${encodeURIComponent(name)}`, { query: { by, locale: ctx.locale } });
  } catch (error) {
    output.textContent = '';
    if (error.status === 409 && (error.errors || []).some((e) => e.kind)) {
      output.textContent = t('ledger.missing', { kinds: error.errors.filter((e) => e.kind).map((e) => kindTitle(e.kind)).join('、') });
    } else if (error.status && error.status < 500) showProblem(error);
    throw error;
  }
  renderLedger();
  return ledger;
}

function renderLedger() {
  const output = $('pf-ledger-output');
  output.textContent = '';
  const group = $('pf-ledger-group');
  group.textContent = '';
  if (ledger.subtotals || ledger.by === 'city') {
    const total = el('option', '', t('ledger.chart_total'));
    total.value = '';
    group.append(total);
  }
  if (ledger.by === 'district') {
    for (const g of ledger.groups) {
      const option = el('option', '', g.name);
      option.value = g.key;
      group.append(option);
    }
  }
  group.disabled = ledger.by === 'city';
  if (ledger.missing && ledger.missing.length) output.append(el('p', 'pf-cf-hint', t('ledger.missing', { kinds: ledger.missing.join('、') })));
  const chart = el('figure', 'pf-cf-chart');
  chart.id = 'pf-ledger-chart';
  output.append(chart);
  const rows = ledgerTable(ledger).map((r) => {
    const tr = el('tr', `pf-cf-${r.kind}`);
    tr.dataset.kind = r.kind;
    const num = (v, d) => (v === null || v === undefined ? '—' : formatNumber(ctx.locale, v, d));
    let place = '';
    let cls = '';
    if (r.kind === 'row') {
      place = ledger.by === 'city' ? '' : r.district ? r.district_name || r.district : t('ledger.outside');
      cls = r.group_name;
    } else if (r.kind === 'subtotal') {
      place = r.district ? r.district_name || r.district : t('ledger.outside');
      cls = t('ledger.subtotal');
    } else if (r.kind === 'group_total') {
      place = t('ledger.group_total', { name: r.group_name });
      cls = '';
    } else {
      place = t('ledger.total');
    }
    const cells = ledger.by === 'city' ? [el('th', '', r.kind === 'total' ? t('ledger.total') : cls)] : [el('th', '', place), el('td', '', cls)];
    cells[0].scope = 'row';
    tr.append(...cells, el('td', 'pf-num', num(r.count, 0)), el('td', 'pf-num', num(r.area_ha, 2)), el('td', 'pf-num', num(r.share_pct, 2)));
    return tr;
  });
  const headers = ledger.by === 'city' ? [t('ledger.group')] : [t('ledger.district'), t('ledger.group')];
  headers.push(t('ledger.count'), t('ledger.area'), t('ledger.share'));
  if (!ledger.rows.length) output.append(el('p', 'pf-cf-hint', t('ledger.empty')));
  else output.append(table(`${ledger.title}（${ledger.by === 'city' ? t('ledger.by_city') : t('ledger.by_district')}）`, headers, rows, 'pf-cf-table pf-cf-ledger-table'));
  output.append(el('p', 'pf-cf-hint', t('ledger.note')));
  renderChart();
}

function renderChart() {
  const figure = $('pf-ledger-chart');
  if (!figure || !ledger) return;
  figure.textContent = '';
  const groupKey = $('pf-ledger-group').value;
  const bars = chartBars(ledger, groupKey);
  const groupName = groupKey ? (ledger.groups.find((g) => g.key === groupKey) || {}).name : '';
  const caption = t('ledger.chart', { title: groupName ? `${ledger.title} · ${groupName}` : ledger.title });
  const layout = barLayout(bars, { width: 560, rowHeight: 22, labelWidth: 120, valueWidth: 90 });
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
  svg.setAttribute('width', '100%');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', caption);
  for (const row of layout.rows) {
    const g = document.createElementNS(SVG_NS, 'g');
    g.setAttribute('transform', `translate(0 ${row.y})`);
    const label = document.createElementNS(SVG_NS, 'text');
    label.setAttribute('x', String(layout.labelWidth - 6));
    label.setAttribute('y', '15');
    label.setAttribute('text-anchor', 'end');
    label.setAttribute('class', 'pf-cf-bar-label');
    label.textContent = row.label;
    const rect = document.createElementNS(SVG_NS, 'rect');
    rect.setAttribute('x', String(layout.labelWidth));
    rect.setAttribute('y', '3');
    rect.setAttribute('height', '15');
    rect.setAttribute('width', String(row.barWidth));
    rect.setAttribute('class', 'pf-cf-bar');
    const tip = document.createElementNS(SVG_NS, 'title');
    tip.textContent = t('ledger.chart_label', { label: row.label, value: formatNumber(ctx.locale, row.value, 2) });
    rect.append(tip);
    const value = document.createElementNS(SVG_NS, 'text');
    value.setAttribute('x', String(layout.labelWidth + row.barWidth + 4));
    value.setAttribute('y', '15');
    value.setAttribute('class', 'pf-cf-bar-value');
    value.textContent = formatNumber(ctx.locale, row.value, 2);
    g.append(label, rect, value);
    svg.append(g);
  }
  figure.append(el('figcaption', '', caption), svg);
}

async function exportLedger(format) {
  const { name, by } = ledgerRequest();
  let response;
  try {
    response = await ctx.api(`ledgers/${encodeURIComponent(name)}`, { query: { by, format, locale: ctx.locale }, raw: true });
  } catch (error) {
    if (error.status && error.status < 500) showProblem(error);
    throw error;
  }
  const file = saveBlob(await response.blob(), `ledger-${name}-${by}-${new Date().toISOString().slice(0, 10)}.${format}`);
  ctx.announce(t('export.done', { file }));
  return file;
}

// --- start ----------------------------------------------------------------------------------

startWidget({
  name: 'conflicts',
  messages,
  async init(widgetCtx) {
    ctx = widgetCtx;
    options = await ctx.api('conflicts/options');
    const params = ctx.params || {};
    filters = { ...emptyFilters(), analysis: locked().analysis || params.analysis || '', status: params.status || '' };
    const showTab = setupTabs();
    renderDetect();
    renderFilters();
    renderLedgerControls();
    $('pf-detail').append(el('p', 'pf-cf-hint', t('detail.none')));
    $('pf-filters').addEventListener('submit', (event) => {
      event.preventDefault();
      readFilters();
      reload();
    });
    await createConflictMap();
    await loadList();
    const running = options.running || {};
    const job = running[filters.analysis] || Object.values(running)[0];
    if (job) track(job);
    if (params.tab === 'ledger') showTab($('pf-tab-ledger'), false);
  },
  commands: {
    async filter(payload = {}) {
      const next = parseFilters(payload, choices());
      if (locked().analysis && next.analysis && next.analysis !== locked().analysis) {
        throw Object.assign(new Error(`the analysis is locked to ${locked().analysis}`), { code: 'forbidden' });
      }
      filters = { ...next, analysis: locked().analysis || next.analysis };
      renderFilters();
      page.offset = 0;
      const body = await loadList();
      return { total: body.total };
    },
    async select({ id } = {}) {
      const conflict = await selectConflict(positiveInteger(id), { zoom: true });
      return { id: conflict.id, status: conflict.status };
    },
  },
});
