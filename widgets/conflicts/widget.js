// The conflict viewer (冲突检测与协调): a filterable list of conflict patches (差异图斑) beside
// the shared map — select in one, see it in the other — with each patch's sources, area,
// district and coordination history; status changes with a note for coordinators; the
// ledgers (台账) with a by-district table, a bar chart and CSV/XLSX export; and a progress
// bar while a detection job runs. Parameters, commands, events and errors: manifest.json;
// texts: messages.js.
import '../common/base.css';
import './widget.css';
import { clearInvalid, describe, svg, table } from '../common/dom.js';
import { saveBlob } from '../common/export.js';
import { formatNumber, localized, toHa, toMu } from '../common/format.js';
import { $, createWidget, el, layersOfKinds } from '../common/widget-base.js';
import { errors } from './manifest.json';
import { messages } from './messages.js';
import {
  FINAL_JOB_STATES,
  STATUS_SYMBOLS,
  barLayout,
  changeBody,
  chartBars,
  labelColumn,
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

const widget = createWidget({
  name: 'conflicts',
  messages,
  errors,
  state: {
    /** GET conflicts/options: analyses, statuses, districts, ledgers and what the caller may do. */
    options: null,
    map: null,
    /** The layer catalogue (GET layers). */
    catalogue: [],
    filters: emptyFilters(),
    /** The page of the list shown. */
    page: { offset: 0, conflicts: [], total: 0, sliver_total: 0 },
    /** The conflict shown in the detail. */
    selected: null,
    /** The id of the detection job followed. */
    tracking: null,
    /** The ledger shown; null: loaded when its tab opens. */
    ledger: null,
    /** The number of the latest list request: an older answer arriving late is dropped. */
    listRequest: 0,
  },
});
const { ctx, state, update, t, lockedNote, markLocked, showProblem, startMap } = widget;

function title(entry) {
  return localized(entry, ctx.locale);
}

function analysisOf(name) {
  return state.options.analyses.find((a) => a.name === name);
}

function typeTitle(analysis, code) {
  const a = analysisOf(analysis);
  const hit = a && a.types.find((x) => x.code === code);
  return hit ? `${/^\d+$/.test(code) ? `${code} ` : ''}${title(hit.title)}` : code;
}

function statusText(code) {
  const hit = state.options.statuses.find((s) => s.code === code);
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
  const hit = state.options.districts.find((d) => d.adcode === code);
  return hit && hit.name ? hit.name : code;
}

function areaText(m2, full = false) {
  const v = (x, d) => formatNumber(ctx.locale, x, d);
  return full ? t('area.full', { m2: v(m2, 2), ha: v(toHa(m2), 4), mu: v(toMu(m2), 2) }) : t('area.m2', { m2: v(m2, 2) });
}

function locked() {
  return state.options.caller.locked || {};
}

function canCoordinate() {
  return Boolean(state.options.caller.can_coordinate);
}

function choices() {
  return {
    analyses: Object.fromEntries(state.options.analyses.map((a) => [a.name, a.types.filter((x) => x.conflict).map((x) => x.code)])),
    statuses: state.options.statuses.map((s) => s.code),
    districts: state.options.districts.map((d) => d.adcode),
  };
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
    if (tab.id === 'pf-tab-ledger' && !state.ledger) loadLedger().catch(() => {});
    if (tab.id === 'pf-tab-list' && state.map) state.map.olMap.updateSize();
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
    box.append(lockedNote(t('lock.districts', { names })));
  }
  if (!canCoordinate()) {
    if (locked().readonly) box.append(el('p', 'pf-cf-hint', t('lock.readonly')));
  } else {
    const row = el('div', 'pf-cf-row');
    const label = el('label', 'pf-cf-label', t('detect.analysis'));
    label.htmlFor = 'pf-detect-analysis';
    const select = el('select');
    select.id = 'pf-detect-analysis';
    for (const a of state.options.analyses) {
      const option = el('option', '', title(a.title));
      option.value = a.name;
      select.append(option);
    }
    select.value = locked().analysis || state.filters.analysis || state.options.analyses[0].name;
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
      start.disabled = Boolean(kinds.length) || Boolean(state.tracking);
    };
    select.addEventListener('change', showMissing);
    row.append(label, select, start, missing);
    if (locked().analysis) markLocked(select);
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
  if (state.tracking) return;
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
    showProblem(error);
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
  update({ tracking: job.id });
  showJob(job);
  const poll = async () => {
    if (state.tracking !== job.id) return;
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
  update({ tracking: null });
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
  update({ ledger: null });
  if (job.state === 'done') loadList().catch(() => {});
}

async function cancelDetection() {
  if (!state.tracking) return;
  $('pf-progress-text').textContent = t('detect.cancelling');
  $('pf-detect-cancel').disabled = true;
  try {
    await ctx.api(`jobs/${encodeURIComponent(state.tracking)}`, { method: 'DELETE' });
  } catch (error) {
    showProblem(error);
  }
}

// --- filters and list -----------------------------------------------------------------------

/** A filter's select with "any" first; a filter the host locked is disabled and says so. */
function select(id, labelText, entries, value, { locked: isLocked = false } = {}) {
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
  wrap.append(label, node);
  if (isLocked) markLocked(node);
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
      state.options.analyses.map((a) => [a.name, title(a.title)]),
      state.filters.analysis,
      { locked: Boolean(lockedAnalysis) },
    ),
  );
  const analysis = state.filters.analysis || lockedAnalysis;
  const types = state.options.analyses
    .filter((a) => !analysis || a.name === analysis)
    .flatMap((a) => a.types.filter((x) => x.conflict).map((x) => [x.code, typeTitle(a.name, x.code)]));
  form.append(select('pf-f-type', t('filters.type'), types, state.filters.type));
  form.append(select('pf-f-district', t('filters.district'), state.options.districts.map((d) => [d.adcode, `${d.name || d.adcode}`]), state.filters.district));
  form.append(select('pf-f-status', t('filters.status'), state.options.statuses.map((s) => [s.code, statusText(s.code)]), state.filters.status));
  const area = el('div', 'pf-cf-field');
  const areaLabel = el('label', 'pf-cf-label', t('filters.min_area'));
  areaLabel.htmlFor = 'pf-f-min-area';
  const areaInput = el('input');
  areaInput.type = 'number';
  areaInput.min = '0';
  areaInput.step = 'any';
  areaInput.id = 'pf-f-min-area';
  areaInput.inputMode = 'decimal';
  areaInput.value = state.filters.min_area;
  area.append(areaLabel, areaInput);
  const sliver = el('label', 'pf-cf-check');
  const box = el('input');
  box.type = 'checkbox';
  box.id = 'pf-f-sliver';
  box.checked = state.filters.sliver;
  sliver.append(box, ` ${t('filters.sliver')}`);
  const apply = el('button', 'pf-button', t('filters.apply'));
  apply.type = 'submit';
  const reset = el('button', 'pf-button pf-button-secondary', t('filters.reset'));
  reset.type = 'button';
  reset.addEventListener('click', () => {
    update({ filters: { ...emptyFilters(), analysis: lockedAnalysis || '' } });
    renderFilters();
    reload();
  });
  const actions = el('div', 'pf-cf-actions');
  actions.append(apply, reset);
  form.append(area, sliver, actions);
  $('pf-f-analysis').addEventListener('change', () => {
    update({ filters: { ...readFilters(), type: '' } });
    renderFilters();
    $('pf-f-analysis').focus();
  });
}

/** The filters as the form shows them. */
function readFilters() {
  return {
    analysis: locked().analysis || $('pf-f-analysis').value,
    type: $('pf-f-type').value,
    district: $('pf-f-district').value,
    status: $('pf-f-status').value,
    min_area: $('pf-f-min-area').value,
    sliver: $('pf-f-sliver').checked,
  };
}

function reload() {
  loadList(0).catch(() => {});
}

/** Load the page of the list at `offset` (default: the page shown) under the filters. */
async function loadList(offset = state.page.offset) {
  const mine = state.listRequest + 1;
  update({ listRequest: mine });
  $('pf-count').textContent = t('list.loading');
  let body;
  try {
    body = await ctx.api('conflicts', { query: listQuery(state.filters, { limit: PAGE_SIZE, offset, locale: ctx.locale }) });
  } catch (error) {
    showProblem(error, { fields: { min_area: 'pf-f-min-area', type: 'pf-f-type', status: 'pf-f-status' } });
    throw error;
  }
  if (mine !== state.listRequest) return body;
  ctx.clearStatus();
  update({ page: { offset, conflicts: body.conflicts, total: body.total, sliver_total: body.sliver_total } });
  renderList();
  updateMap();
  return body;
}

function renderList() {
  const list = $('pf-list');
  list.textContent = '';
  const range = pageRange(state.page.offset, state.page.conflicts.length, state.page.total);
  $('pf-count').textContent = !state.page.total
    ? t('list.empty')
    : state.filters.sliver
      ? t('list.count_slivers', range)
      : t('list.count', { ...range, slivers: state.page.sliver_total });
  const ul = el('ul', 'pf-cf-items');
  ul.setAttribute('aria-label', t('tabs.list'));
  for (const c of state.page.conflicts) ul.append(listItem(c));
  list.append(ul);
  const pager = $('pf-pager');
  pager.textContent = '';
  const prev = el('button', 'pf-button pf-button-secondary', t('list.prev'));
  prev.type = 'button';
  prev.disabled = state.page.offset === 0;
  prev.addEventListener('click', () => loadList(Math.max(0, state.page.offset - PAGE_SIZE)).catch(() => {}));
  const next = el('button', 'pf-button pf-button-secondary', t('list.next'));
  next.type = 'button';
  next.disabled = state.page.offset + state.page.conflicts.length >= state.page.total;
  next.addEventListener('click', () => loadList(state.page.offset + PAGE_SIZE).catch(() => {}));
  pager.append(prev, next);
  pager.hidden = state.page.total <= PAGE_SIZE;
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
  button.setAttribute('aria-pressed', state.selected && state.selected.id === c.id ? 'true' : 'false');
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
  button.addEventListener('focus', () => state.map && state.map.highlight('conflicts', String(c.id)));
  button.addEventListener('blur', () => state.map && state.map.highlight(state.selected ? 'conflicts' : null, state.selected ? String(state.selected.id) : null));
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
  update({ selected: conflict });
  markSelected(conflict.id, fromMap);
  if (state.map) {
    if (!state.page.conflicts.some((c) => c.id === conflict.id)) state.map.setOverlay('selected', conflictFeatures([conflict]), 'conflict');
    else state.map.clearOverlay('selected');
    const overlay = state.page.conflicts.some((c) => c.id === conflict.id) ? 'conflicts' : 'selected';
    state.map.highlight(overlay, String(conflict.id));
    if (zoom) state.map.fitTo({ overlay, id: String(conflict.id) }, { maxZoom: 17, padding: 60 });
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
    const overlay = state.page.conflicts.some((x) => x.id === c.id) ? 'conflicts' : 'selected';
    state.map && state.map.fitTo({ overlay, id: String(c.id) }, { maxZoom: 17, padding: 60 });
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
    const labels = missing.map((name) => document.querySelector(`label[for="${FORM_FIELDS[name]}"]`).textContent);
    const text = t('form.missing', { fields: labels.join('、') });
    showProblem({ text, errors: missing.map((field) => ({ field })) }, { fields: FORM_FIELDS, code: 'invalid_request' });
    $(FORM_FIELDS[missing[0]]).focus();
    return null;
  }
  let updated;
  try {
    updated = await ctx.api(`conflicts/${encodeURIComponent(c.id)}`, { method: 'PATCH', body, query: { locale: ctx.locale } });
  } catch (error) {
    showProblem(error, { fields: FORM_FIELDS });
    throw error;
  }
  ctx.clearStatus();
  const text = body.status ? t('form.saved', { id: c.id, status: statusText(updated.status) }) : t('form.noted', { id: c.id });
  ctx.announce(text);
  ctx.emit('conflict-updated', { id: updated.id, status: updated.status, from_status: c.status, note: body.note || '' });
  if (state.page.conflicts.some((x) => x.id === updated.id)) {
    const conflicts = state.page.conflicts.map((x) => (x.id === updated.id ? { ...x, ...updated } : x));
    update({ page: { ...state.page, conflicts } });
    renderList();
    updateMap();
  }
  await selectConflict(updated.id);
  update({ ledger: null });
  const heading = document.querySelector('#pf-detail h3');
  if (heading) ctx.focus(heading);
  return updated;
}

// --- map ------------------------------------------------------------------------------------

function analysisKinds(name) {
  const a = analysisOf(name);
  return new Set(a ? a.kinds : []);
}

/** The map with the layers of every analysis; the districts and the current analysis's shown. */
async function createConflictMap() {
  const shown = analysisKinds(state.filters.analysis || locked().analysis || state.options.analyses[0].name);
  const kinds = Object.fromEntries(state.options.analyses.flatMap((a) => a.kinds).map((kind) => [kind, kind === 'district' || shown.has(kind)]));
  const { map, catalogue } = await startMap($('pf-map'), { layers: (all) => layersOfKinds(all, kinds), identify: false });
  update({ map, catalogue });
  map.on('select', (sel) => {
    if (sel && (sel.overlay === 'conflicts' || sel.overlay === 'selected')) selectConflict(Number(sel.id), { fromMap: true }).catch(() => {});
  });
}

function updateMap() {
  if (!state.map) return;
  state.map.setOverlay('conflicts', conflictFeatures(state.page.conflicts), 'conflict');
  const analysis = state.filters.analysis || locked().analysis;
  if (analysis) {
    const kinds = analysisKinds(analysis);
    for (const l of state.catalogue) if (l.kind !== 'district') state.map.setLayerVisible(l.id, kinds.has(l.kind));
  }
  if (state.selected && state.page.conflicts.some((c) => c.id === state.selected.id)) {
    state.map.clearOverlay('selected');
    state.map.highlight('conflicts', String(state.selected.id));
  }
  if (state.page.conflicts.length) state.map.fitTo('conflicts', { maxZoom: 15, padding: 40 });
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
  for (const entry of state.options.ledgers.filter((l) => wanted.includes(l.name))) {
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
    update({ ledger: await ctx.api(`ledgers/${encodeURIComponent(name)}`, { query: { by, locale: ctx.locale } }) });
  } catch (error) {
    output.textContent = '';
    if (error.status === 409 && (error.errors || []).some((e) => e.kind)) {
      output.textContent = t('ledger.missing', { kinds: error.errors.filter((e) => e.kind).map((e) => kindTitle(e.kind)).join('、') });
    } else showProblem(error);
    throw error;
  }
  renderLedger();
  return state.ledger;
}

function renderLedger() {
  const output = $('pf-ledger-output');
  output.textContent = '';
  const group = $('pf-ledger-group');
  group.textContent = '';
  if (state.ledger.subtotals || state.ledger.by === 'city') {
    const total = el('option', '', t('ledger.chart_total'));
    total.value = '';
    group.append(total);
  }
  if (state.ledger.by === 'district') {
    for (const g of state.ledger.groups) {
      const option = el('option', '', g.name);
      option.value = g.key;
      group.append(option);
    }
  }
  group.disabled = state.ledger.by === 'city';
  if (state.ledger.missing && state.ledger.missing.length) output.append(el('p', 'pf-cf-hint', t('ledger.missing', { kinds: state.ledger.missing.join('、') })));
  const chart = el('figure', 'pf-cf-chart');
  chart.id = 'pf-ledger-chart';
  output.append(chart);
  const rows = ledgerTable(state.ledger).map((r) => {
    const tr = el('tr', `pf-cf-${r.kind}`);
    tr.dataset.kind = r.kind;
    const num = (v, d) => (v === null || v === undefined ? '—' : formatNumber(ctx.locale, v, d));
    let place = '';
    let cls = '';
    if (r.kind === 'row') {
      place = state.ledger.by === 'city' ? '' : r.district ? r.district_name || r.district : t('ledger.outside');
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
    const cells = state.ledger.by === 'city' ? [el('th', '', r.kind === 'total' ? t('ledger.total') : cls)] : [el('th', '', place), el('td', '', cls)];
    cells[0].scope = 'row';
    tr.append(...cells, el('td', 'pf-num', num(r.count, 0)), el('td', 'pf-num', num(r.area_ha, 2)), el('td', 'pf-num', num(r.share_pct, 2)));
    return tr;
  });
  const headers = state.ledger.by === 'city' ? [t('ledger.group')] : [t('ledger.district'), t('ledger.group')];
  headers.push(t('ledger.count'), t('ledger.area'), t('ledger.share'));
  if (!state.ledger.rows.length) output.append(el('p', 'pf-cf-hint', t('ledger.empty')));
  else output.append(table(`${state.ledger.title}（${state.ledger.by === 'city' ? t('ledger.by_city') : t('ledger.by_district')}）`, headers, rows, 'pf-cf-table pf-cf-ledger-table'));
  output.append(el('p', 'pf-cf-hint', t('ledger.note')));
  renderChart();
}

function renderChart() {
  const figure = $('pf-ledger-chart');
  if (!figure || !state.ledger) return;
  figure.textContent = '';
  const groupKey = $('pf-ledger-group').value;
  const bars = chartBars(state.ledger, groupKey);
  const groupName = groupKey ? (state.ledger.groups.find((g) => g.key === groupKey) || {}).name : '';
  const caption = t('ledger.chart', { title: groupName ? `${state.ledger.title} · ${groupName}` : state.ledger.title });
  // The label column fits the longest district name (彭水苗族土家族自治县), not a fixed width.
  const column = labelColumn(bars, { fontPx: 12 });
  const layout = barLayout(bars, { width: 560 + Math.max(0, column.width - 120), rowHeight: 22, labelWidth: column.width, valueWidth: 90 });
  const rows = layout.rows.map((row, i) => {
    const value = formatNumber(ctx.locale, row.value, 2);
    const tip = svg('title', {}, t('ledger.chart_label', { label: row.label, value }));
    return svg(
      'g',
      { transform: `translate(0 ${row.y})` },
      svg('text', { x: layout.labelWidth - 6, y: 15, 'text-anchor': 'end', class: 'pf-cf-bar-label' }, column.labels[i], svg('title', {}, row.label)),
      svg('rect', { x: layout.labelWidth, y: 3, height: 15, width: row.barWidth, class: 'pf-cf-bar' }, tip),
      svg('text', { x: layout.labelWidth + row.barWidth + 4, y: 15, class: 'pf-cf-bar-value' }, value),
    );
  });
  const chart = svg('svg', { viewBox: `0 0 ${layout.width} ${layout.height}`, width: '100%', role: 'img', 'aria-label': caption }, ...rows);
  figure.append(el('figcaption', '', caption), chart);
}

async function exportLedger(format) {
  const { name, by } = ledgerRequest();
  let response;
  try {
    response = await ctx.api(`ledgers/${encodeURIComponent(name)}`, { query: { by, format, locale: ctx.locale }, raw: true });
  } catch (error) {
    showProblem(error);
    throw error;
  }
  const file = saveBlob(await response.blob(), `ledger-${name}-${by}-${new Date().toISOString().slice(0, 10)}.${format}`);
  ctx.announce(t('export.done', { file }));
  return file;
}

// --- start ----------------------------------------------------------------------------------

widget.start({
  async init() {
    update({ options: await ctx.api('conflicts/options') });
    const params = ctx.params || {};
    update({ filters: { ...emptyFilters(), analysis: locked().analysis || params.analysis || '', status: params.status || '' } });
    const showTab = setupTabs();
    renderDetect();
    renderFilters();
    renderLedgerControls();
    $('pf-detail').append(el('p', 'pf-cf-hint', t('detail.none')));
    $('pf-filters').addEventListener('submit', (event) => {
      event.preventDefault();
      update({ filters: readFilters() });
      reload();
    });
    // The map's catalogue and the first page of patches in parallel (one round trip less
    // before `ready`); the patches go on the map once both are there.
    await Promise.all([createConflictMap(), loadList()]);
    updateMap();
    const running = state.options.running || {};
    const job = running[state.filters.analysis] || Object.values(running)[0];
    if (job) track(job);
    if (params.tab === 'ledger') showTab($('pf-tab-ledger'), false);
  },
  commands: {
    async filter(payload = {}) {
      const next = parseFilters(payload, choices());
      if (locked().analysis && next.analysis && next.analysis !== locked().analysis) {
        throw Object.assign(new Error(t('command.analysis_locked', { analysis: locked().analysis })), { code: 'forbidden' });
      }
      update({ filters: { ...next, analysis: locked().analysis || next.analysis } });
      renderFilters();
      const body = await loadList(0);
      return { total: body.total };
    },
    async select({ id } = {}) {
      const conflict = await selectConflict(widget.positiveInteger(id), { zoom: true });
      return { id: conflict.id, status: conflict.status };
    },
  },
});
