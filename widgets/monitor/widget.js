// The monitor widget (规划实施监测评估预警): the binding indicators of a year as cards
// coloured by status (GET /api/v1/monitoring/indicators, …/values for the city or one
// district), the districts on the shared map shaded by the status of the chosen indicator
// (…/values?by=district over the district layer's features), a district's figures on a
// click, the indicator's series with its target line as inline SVG (…/values?from=&to=),
// the year's changes (…/changes) listed and linked both ways with the map, the annual
// evaluation report (POST …/reports, its print view and XLSX) and export (CSV, GeoJSON).
// Events `indicator-selected`, `change-selected`; commands `show-indicator`, `show-year`.
// Parameters, commands, events and errors: manifest.json; texts: messages.js.
import '../common/base.css';
import './widget.css';
import { svg, table } from '../common/dom.js';
import { BOM, csvText, saveBlob, saveText } from '../common/export.js';
import { formatNumber } from '../common/format.js';
import { $, createWidget, el, layersOfKinds } from '../common/widget-base.js';
import { errors } from './manifest.json';
import { messages } from './messages.js';
import {
  STATUSES,
  axisText,
  STATUS_ICONS,
  changeEvent,
  changeFeatures,
  changeStyle,
  changesCsvRows,
  changesGeoJSON,
  chartModel,
  districtFeatures,
  districtStyle,
  indicatorEvent,
  parseFeatureId,
  parseIndicatorId,
  parseYear,
  pickIndicator,
  pickYear,
  ratioText,
  seriesQuery,
  statusColour,
  statusCounts,
  valueText,
  valuesCsvRows,
  valuesGeoJSON,
  valuesQuery,
  withDetail,
  cardsQuery,
} from './model.js';

/** Most change pieces listed (and drawn) at once, largest first. */
const CHANGES_LIMIT = 200;
/** Most district features read from the district layer. */
const DISTRICTS_LIMIT = 1000;
/** The zoom level (WebMercatorQuad) the city's districts are read for. The whole city fits
 *  a widget's map at about zoom 8 (Chongqing is 470 km across), so outlines kept within half
 *  a pixel at zoom 9 stay within a quarter of one there: a sixth of the full detail's bytes. */
const OVERVIEW_ZOOM = 9;
/** …and one district's outline, once the user picks it (or the session is locked to it). */
const DETAIL_ZOOM = 15;
/** How long a print view's object URL lives (the new window loads it meanwhile). */
const PRINT_URL_TTL_MS = 60000;

const widget = createWidget({
  name: 'monitor',
  messages,
  errors,
  state: {
    map: null,
    /** The district layer's catalogue entry (its features are drawn as the shaded overlay). */
    districtLayer: null,
    /** The district layer's features (GeoJSON), read once. */
    districtShapes: null,
    /** The districts whose outline is read at DETAIL_ZOOM already. */
    detailed: new Set(),
    indicators: [],
    years: [],
    year: null,
    indicator: null,
    /** 'city' or a district adcode: whose figures the cards and the series show. */
    area: 'city',
    /** adcode → name, from the district values. */
    names: new Map(),
    /** indicator id → its value row for the area and year (null: none). */
    cards: new Map(),
    /** The chosen indicator's rows by district for the year. */
    districtRows: [],
    series: null,
    changes: [],
    changesTotal: 0,
    selectedChange: null,
    reports: [],
    report: null,
  },
});
const { ctx, state, update, t, lockedNote, markLocked, showProblem, startMap } = widget;

const locked = () => ctx.lockedParams || {};
const indicatorOf = (id) => state.indicators.find((i) => i.id === id) || null;
const nameOf = (indicator) => (indicator ? indicator.name[ctx.locale] || indicator.name['zh-CN'] || indicator.id : '');
const areaName = (area) => (area === 'city' ? t('area.city') : state.names.get(area) || area);
const api = (path, opts) => ctx.api(`monitoring/${path}`, opts);
const statusWord = (status) => t(`status.${status}`);

function badge(status) {
  const node = el('span', 'pfm-badge');
  node.dataset.status = status;
  const mark = el('span', 'pfm-badge-icon', STATUS_ICONS[status] || '•');
  mark.setAttribute('aria-hidden', 'true');
  node.append(mark, el('span', null, statusWord(status)));
  return node;
}

/** Loads under way: the widget is busy (aria-busy) until the last one ends. */
let pending = 0;

function setBusy(busy) {
  pending = Math.max(0, pending + (busy ? 1 : -1));
  $('pfm').setAttribute('aria-busy', pending > 0 ? 'true' : 'false');
}

// --- loading ----------------------------------------------------------------------------------

/** Settled once the district names are in (they come with the districts' figures): the
 *  cards, chart and change list name districts, so they are drawn after it. */
let namesKnown = Promise.resolve();

/** What an answer was asked for: an answer to an earlier choice (the user moved on since it
 *  was asked) is dropped. */
const asking = () => ({ year: state.year, area: state.area, indicator: state.indicator });

async function loadCards() {
  const asked = asking();
  // Every card's indicator in one call (…/values?indicators=a,b,…); a year without data
  // (404) leaves each card empty.
  let entries;
  try {
    const body = await api('values', { query: cardsQuery(state.indicators.map((i) => i.id), state.year, state.area) });
    entries = body.results.map((result) => [result.indicator.id, result.values[0] || null]);
  } catch (error) {
    if (error.status !== 404) throw error;
    entries = state.indicators.map((indicator) => [indicator.id, null]);
  }
  await namesKnown;
  if (asked.year !== state.year || asked.area !== state.area) return;
  update({ cards: new Map(entries) });
  renderCards();
}

async function loadDistricts() {
  const asked = asking();
  const body = await api('values', { query: valuesQuery(state.indicator, state.year, 'districts') });
  if (asked.year !== state.year || asked.indicator !== state.indicator) return;
  const names = new Map(state.names);
  for (const row of body.values) names.set(row.area, row.name);
  update({ districtRows: body.values, names });
  fillAreas();
  renderMap();
  renderDistricts();
}

async function loadSeries() {
  const asked = asking();
  const body = await api('values', { query: seriesQuery(state.indicator, state.years, state.area) });
  await namesKnown;
  if (asked.area !== state.area || asked.indicator !== state.indicator) return;
  update({ series: body.series[0] || null });
  renderSeries();
}

async function loadChanges() {
  if (state.year === state.years[0]) {
    // The first monitoring year has no status version before it to compare with.
    update({ changes: [], changesTotal: 0, selectedChange: null });
    $('pfm-changes-summary').textContent = t('changes.first_year', { year: state.year });
    $('pfm-changes').replaceChildren();
    if (state.map) state.map.setOverlay('changes', changeFeatures([]), changeStyle);
    return;
  }
  const query = { year: state.year, limit: CHANGES_LIMIT };
  if (state.area !== 'city') query.district = state.area;
  if ($('pfm-warnings-only').checked) query.warnings = 'true';
  const asked = asking();
  const body = await api('changes', { query });
  await namesKnown;
  if (asked.year !== state.year || asked.area !== state.area) return;
  update({ changes: body.changes, changesTotal: body.total, selectedChange: null });
  renderChanges(body);
}

async function loadReports() {
  const { reports } = await api('reports');
  update({ reports });
  renderReports();
}

/** The district layer's features: `district` alone, or every one (OGC API items with the
 *  geometries simplified for `zoom`). */
async function readDistricts(layer, zoom, district = null) {
  const query = `limit=${DISTRICTS_LIMIT}&zoom-level=${zoom}${district ? `&district=${encodeURIComponent(district)}` : ''}`;
  const res = await ctx.api(`/ogc/collections/${encodeURIComponent(layer.id)}/items?${query}`, { raw: true });
  return res.json();
}

async function loadDistrictShapes(layer) {
  if (!layer || state.districtShapes) return;
  const only = locked().district;
  try {
    const shapes = await readDistricts(layer, only ? DETAIL_ZOOM : OVERVIEW_ZOOM, only);
    update({ districtShapes: shapes, detailed: new Set(only ? [only] : []) });
  } catch (error) {
    showProblem(error, { code: 'layer_unavailable' });
  }
}

/** The chosen district's outline at full map detail in place of the overview's (once). */
async function loadDistrictDetail(area) {
  if (area === 'city' || !state.districtLayer || !state.districtShapes || state.detailed.has(area)) return;
  state.detailed.add(area);
  try {
    const detail = await readDistricts(state.districtLayer, DETAIL_ZOOM, area);
    update({ districtShapes: withDetail(state.districtShapes, detail) });
    if (state.map) {
      drawDistricts();
      markMap();
    }
  } catch {
    state.detailed.delete(area); // the overview's outline stays; a later choice tries again
  }
}

/** Run `steps` (loaders) with the busy mark and problems shown; false when one failed. */
async function run(...steps) {
  setBusy(true);
  try {
    await Promise.all(steps.map((step) => step()));
    return true;
  } catch (error) {
    showProblem(error);
    return false;
  } finally {
    setBusy(false);
  }
}

// --- cards ------------------------------------------------------------------------------------

function renderCards() {
  $('pfm-cards-area').textContent = t('cards.of', { area: areaName(state.area), year: state.year });
  const cards = state.indicators.map((indicator) => {
    const row = state.cards.get(indicator.id);
    const status = row ? row.status : 'no_data';
    const item = el('div', 'pfm-card-item');
    item.setAttribute('role', 'listitem');
    const card = el('button', 'pfm-card');
    card.type = 'button';
    card.dataset.indicator = indicator.id;
    card.dataset.status = status;
    card.setAttribute('aria-pressed', indicator.id === state.indicator ? 'true' : 'false');
    card.append(el('span', 'pfm-card-name', nameOf(indicator)), el('span', 'pfm-card-value', row ? valueText(row.value, row.unit || indicator.unit, ctx.locale) : '—'));
    const target = row && row.target !== null && row.target !== undefined ? t('cards.target', { target: valueText(row.target, row.unit || indicator.unit, ctx.locale), year: row.target_year, ratio: ratioText(row.ratio, ctx.locale) }) : t('cards.no_target');
    card.append(el('span', 'pfm-card-target', target), el('span', 'pfm-card-direction', t(`direction.${indicator.direction}`)), badge(status));
    card.addEventListener('click', () => selectIndicator(indicator.id).catch(() => {}));
    item.append(card);
    return item;
  });
  $('pfm-cards').replaceChildren(...cards);
  const counts = statusCounts([...state.cards.values()].filter(Boolean));
  $('pfm-status-legend').textContent = t('cards.counts', counts);
}

// --- the map and the districts ------------------------------------------------------------------

function renderMap() {
  const indicator = indicatorOf(state.indicator);
  $('pfm-map-indicator').textContent = indicator ? `${nameOf(indicator)} · ${state.year}` : '';
  if (!state.map || !state.districtShapes) return;
  drawDistricts();
  state.map.setOverlay('changes', changeFeatures(state.changes), changeStyle);
  markMap();
}

/** The districts shaded by status (the change pieces above them are left as they are). */
function drawDistricts() {
  const features = districtFeatures(state.districtShapes, state.districtRows, locked().district || null);
  state.map.setOverlay('districts', features, districtStyle);
}

/** The map marks one feature: the chosen change piece, else the chosen district. */
function markMap() {
  if (!state.map) return;
  if (state.selectedChange) state.map.highlight('changes', `change:${state.selectedChange}`);
  else if (state.area !== 'city') state.map.highlight('districts', `district:${state.area}`);
  else state.map.highlight(null);
}

function fitMap() {
  if (!state.map) return;
  if (state.area !== 'city') state.map.fitTo({ overlay: 'districts', id: `district:${state.area}` });
  else state.map.fitTo('districts');
}

function renderDistricts() {
  const indicator = indicatorOf(state.indicator);
  const unit = indicator ? indicator.unit : '';
  const rows = state.districtRows.map((row) => {
    const tr = el('tr');
    tr.dataset.area = row.area;
    if (row.area === state.area) tr.className = 'pfm-selected';
    const name = el('th');
    name.scope = 'row';
    const open = el('button', 'pfm-link', row.name || row.area);
    open.type = 'button';
    open.addEventListener('click', () => chooseArea(row.area, { zoom: true }).catch(() => {}));
    name.append(open);
    const status = el('td');
    status.append(badge(row.status));
    tr.append(name, el('td', 'pfm-num', valueText(row.value, row.unit || unit, ctx.locale)), el('td', 'pfm-num', valueText(row.target, row.unit || unit, ctx.locale)), el('td', 'pfm-num', ratioText(row.ratio, ctx.locale)), status);
    return tr;
  });
  const headers = [t('col.district'), [t('col.value'), 'pfm-num'], [t('col.target'), 'pfm-num'], [t('col.ratio'), 'pfm-num'], t('col.status')];
  $('pfm-districts').replaceChildren(table(t('districts.caption', { indicator: nameOf(indicator), year: state.year }), headers, rows, 'pfm-table'));
  renderDistrictFigures();
}

/** The chosen district's figures for the chosen indicator (beside the map). */
function renderDistrictFigures() {
  const box = $('pfm-district');
  if (state.area === 'city') {
    box.replaceChildren(el('p', 'pfm-muted', t('district.hint')));
    return;
  }
  const indicator = indicatorOf(state.indicator);
  const row = state.districtRows.find((r) => r.area === state.area);
  const heading = el('h3', null, `${areaName(state.area)}（${state.area}）`);
  heading.id = 'pfm-district-name';
  if (!row || !indicator) {
    box.replaceChildren(heading, el('p', 'pfm-muted', t('district.no_values')));
    return;
  }
  const list = el('dl', 'pfm-facts');
  const pairs = [
    [t('col.indicator'), nameOf(indicator)],
    [t('col.value'), valueText(row.value, row.unit || indicator.unit, ctx.locale)],
    [t('col.target'), row.target !== null && row.target !== undefined ? `${valueText(row.target, row.unit || indicator.unit, ctx.locale)}（${row.target_year}）` : t('cards.no_target')],
    [t('col.ratio'), ratioText(row.ratio, ctx.locale)],
  ];
  for (const [term, value] of pairs) list.append(el('dt', null, term), el('dd', null, value));
  const statusDd = el('dd');
  statusDd.append(badge(row.status));
  list.append(el('dt', null, t('col.status')), statusDd);
  const actions = el('div', 'pfm-row');
  if (!locked().district) {
    const back = el('button', 'pf-button pf-button-secondary', t('district.back_to_city'));
    back.type = 'button';
    back.id = 'pfm-back-to-city';
    // The view stays where it is: the user goes on to the neighbouring districts.
    back.addEventListener('click', () => chooseArea('city').catch(() => {}));
    actions.append(back);
  }
  box.replaceChildren(heading, list, actions);
}

function fillAreas() {
  const select = $('pfm-area');
  const only = locked().district;
  const codes = only ? [only] : [...state.names.keys()].sort();
  const options = [...(only ? [] : [['city', t('area.city')]]), ...codes.map((code) => [code, `${state.names.get(code) || code}（${code}）`])];
  select.replaceChildren(...options.map(([value, text]) => Object.assign(el('option', null, text), { value })));
  select.value = state.area;
}

// --- the series chart ---------------------------------------------------------------------------

function renderSeries() {
  const indicator = indicatorOf(state.indicator);
  const series = state.series;
  $('pfm-chart-title').textContent = indicator ? `${nameOf(indicator)} · ${areaName(state.area)}` : '';
  const box = $('pfm-chart');
  if (!series || !indicator) {
    box.replaceChildren(el('p', 'pfm-muted', t('chart.none')));
    $('pfm-projection').textContent = '';
    $('pfm-series-table').replaceChildren();
    return;
  }
  const unit = series.unit || indicator.unit;
  const model = chartModel(series.points, { width: 520, height: 260 });
  const label = t('chart.label', { indicator: nameOf(indicator), area: areaName(state.area), from: state.years[0], to: state.years[state.years.length - 1] });
  const picture = svg('svg', { class: 'pfm-chart-svg', viewBox: `0 0 ${model.width} ${model.height}`, role: 'img', 'aria-label': label, focusable: 'false' }, svg('title', {}, label));
  for (const tick of model.ticks) {
    picture.append(
      svg('line', { class: 'pfm-grid-line', x1: model.box.left, x2: model.box.right, y1: tick.y, y2: tick.y }),
      svg('text', { class: 'pfm-axis', x: model.box.left - 6, y: tick.y + 4, 'text-anchor': 'end' }, axisText(tick.value, ctx.locale)),
    );
  }
  for (const l of model.labels) {
    picture.append(svg('text', { class: `pfm-axis${l.year === state.year ? ' pfm-axis-current' : ''}`, x: l.x, y: model.height - 8, 'text-anchor': 'middle' }, String(l.year)));
  }
  if (model.targetLine) picture.append(svg('path', { class: 'pfm-target-line', d: model.targetLine, fill: 'none' }));
  if (model.line) picture.append(svg('path', { class: 'pfm-value-line', d: model.line, fill: 'none' }));
  for (const p of model.points) {
    const c = statusColour(p.status);
    const dot = svg('circle', { class: 'pfm-point', cx: p.x, cy: p.y, r: p.year === state.year ? 6 : 4, fill: c.stroke, 'data-year': p.year, 'data-status': p.status });
    dot.append(svg('title', {}, `${p.year}: ${valueText(p.value, unit, ctx.locale)} · ${statusWord(p.status)}`));
    picture.append(dot);
  }
  const legend = el('p', 'pfm-chart-legend');
  const valueKey = el('span', 'pfm-key pfm-key-value');
  valueKey.setAttribute('aria-hidden', 'true');
  const targetKey = el('span', 'pfm-key pfm-key-target');
  targetKey.setAttribute('aria-hidden', 'true');
  legend.append(valueKey, el('span', null, t('chart.value')), targetKey, el('span', null, t('chart.target')));
  box.replaceChildren(picture, legend);
  const projection = series.projection;
  let text = '';
  if (projection && projection.target_year) {
    text = projection.year
      ? t(projection.before_target_year ? 'chart.projection_before' : 'chart.projection_after', { year: projection.year, target_year: projection.target_year, target: valueText(projection.target, unit, ctx.locale) })
      : t('chart.projection_never', { target_year: projection.target_year, target: valueText(projection.target, unit, ctx.locale) });
  }
  $('pfm-projection').textContent = text;
  const rows = series.points.map((p) => {
    const tr = el('tr');
    const year = el('th', null, String(p.year));
    year.scope = 'row';
    const status = el('td');
    status.append(badge(p.status));
    tr.append(year, el('td', 'pfm-num', valueText(p.value, unit, ctx.locale)), el('td', 'pfm-num', valueText(p.change, unit, ctx.locale)), el('td', 'pfm-num', valueText(p.target, unit, ctx.locale)), el('td', 'pfm-num', ratioText(p.ratio, ctx.locale)), status);
    return tr;
  });
  $('pfm-series-table').replaceChildren(table(label, [t('col.year'), [t('col.value'), 'pfm-num'], [t('col.change'), 'pfm-num'], [t('col.target'), 'pfm-num'], [t('col.ratio'), 'pfm-num'], t('col.status')], rows, 'pfm-table'));
}

// --- changes ------------------------------------------------------------------------------------

function changeLabel(c) {
  return `${t(`change.${c.type}`)} · ${c.on ? t(`on.${c.on}`) : t('on.none')}`;
}

function renderChanges(body) {
  const area = (body.area_m2 ?? 0) === 0 ? '0' : formatNumber(ctx.locale, body.area_m2, 2);
  $('pfm-changes-summary').textContent = t('changes.summary', { year: body.year, compared: body.compared_with ?? '—', total: body.total, area, shown: body.changes.length });
  if (!body.changes.length) {
    $('pfm-changes').replaceChildren(el('p', 'pfm-muted', t('changes.none')));
  } else {
    const rows = body.changes.map((c, i) => {
      const tr = el('tr');
      tr.dataset.id = c.id;
      if (c.on) tr.classList.add('pfm-change-warning');
      const head = el('th');
      head.scope = 'row';
      const open = el('button', 'pfm-link', `${i + 1}. ${changeLabel(c)}`);
      open.type = 'button';
      open.addEventListener('click', () => selectChange(c.id));
      head.append(open);
      tr.append(head, el('td', null, `${areaName(c.district)}`), el('td', 'pfm-num', formatNumber(ctx.locale, c.area_m2, 2)), el('td', null, `${c.from_code} → ${c.to_code}`));
      return tr;
    });
    $('pfm-changes').replaceChildren(table(t('changes.caption', { year: body.year }), [t('col.change_kind'), t('col.district'), [t('col.area_m2'), 'pfm-num'], t('col.codes')], rows, 'pfm-table pfm-changes-table'));
  }
  if (state.map) {
    state.map.setOverlay('changes', changeFeatures(state.changes), changeStyle);
    markMap();
  }
}

/** Select a change piece (from the list or the map): mark its row and its shape, tell the host. */
function selectChange(id, { fromMap = false } = {}) {
  const change = state.changes.find((c) => c.id === id);
  if (!change) return null;
  update({ selectedChange: id });
  for (const row of document.querySelectorAll('#pfm-changes tbody tr')) {
    const on = row.dataset.id === id;
    row.classList.toggle('pfm-selected', on);
    if (on) row.setAttribute('aria-current', 'true');
    else row.removeAttribute('aria-current');
  }
  if (state.map) state.map.highlight('changes', `change:${id}`, { zoom: !fromMap });
  if (fromMap) {
    const row = document.querySelector(`#pfm-changes tr[data-id="${CSS.escape(id)}"]`);
    if (row) row.scrollIntoView({ block: 'nearest' });
  }
  ctx.announce(t('changes.selected', { label: changeLabel(change), area: formatNumber(ctx.locale, change.area_m2, 2), district: areaName(change.district) }));
  const payload = changeEvent(change, state.year);
  ctx.emit('change-selected', payload);
  return payload;
}

// --- reports ------------------------------------------------------------------------------------

function renderReports() {
  if (!state.reports.length) {
    $('pfm-reports').replaceChildren(el('p', 'pfm-muted', t('report.none')));
    return;
  }
  const rows = state.reports.map((r) => {
    const tr = el('tr');
    tr.dataset.id = r.id;
    const year = el('th', null, String(r.year));
    year.scope = 'row';
    const actions = el('td', 'pfm-actions');
    actions.append(reportButton('report.print', () => openPrint(r.id), r), reportButton('report.xlsx', () => downloadXlsx(r), r));
    tr.append(year, el('td', null, areaName(r.area)), el('td', null, new Date(r.created_at).toLocaleString(ctx.locale)), el('td', null, r.id), actions);
    return tr;
  });
  $('pfm-reports').replaceChildren(table(t('report.caption'), [t('col.year'), t('col.area'), t('col.created'), t('col.report'), t('col.actions')], rows, 'pfm-table'));
}

function reportButton(key, fn, report) {
  const button = el('button', 'pf-button pf-button-secondary', t(key));
  button.type = 'button';
  button.dataset.action = key;
  button.setAttribute('aria-label', `${t(key)}：${report.year} ${areaName(report.area)}`);
  button.addEventListener('click', fn);
  return button;
}

async function createReport() {
  setBusy(true);
  $('pfm-report-create').disabled = true;
  ctx.showStatus(t('report.building'), 'info');
  try {
    const report = await api('reports', { method: 'POST', body: { year: state.year, area: state.area } });
    update({ report });
    ctx.clearStatus();
    renderReport(report);
    await loadReports();
    ctx.announce(t('report.built', { year: report.year, area: areaName(report.area) }));
  } catch (error) {
    ctx.clearStatus();
    showProblem(error);
  } finally {
    $('pfm-report-create').disabled = false;
    setBusy(false);
  }
}

function renderReport(report) {
  const box = $('pfm-report');
  const heading = el('h3', null, t('report.title', { year: report.year, area: areaName(report.area) }));
  heading.tabIndex = -1;
  heading.id = 'pfm-report-title';
  const summary = el('p', 'pfm-report-summary', report.summary[ctx.locale] || report.summary['zh-CN']);
  const counts = el('p', 'pfm-muted', t('cards.counts', report.counts));
  const meta = el('p', 'pfm-muted', t('report.signed', { id: report.id, kid: report.signature.kid }));
  const actions = el('div', 'pfm-row');
  actions.append(reportButton('report.print', () => openPrint(report.id), report), reportButton('report.xlsx', () => downloadXlsx(report), report));
  box.replaceChildren(heading, summary, counts, meta, actions);
  heading.focus();
}

/** The print view in a new window: fetched with the session (never a token in a URL). */
async function openPrint(id) {
  try {
    const res = await api(`reports/${encodeURIComponent(id)}/print`, { raw: true });
    // The page's stylesheet by its absolute address: the copy opens from a blob: URL.
    const html = (await res.text()).replace(/href="\/static\//g, `href="${location.origin}/static/`);
    const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
    const opened = window.open(url, '_blank');
    if (!opened) saveBlob(new Blob([html], { type: 'text/html' }), `monitoring-report-${id}.html`);
    setTimeout(() => URL.revokeObjectURL(url), PRINT_URL_TTL_MS);
  } catch (error) {
    showProblem(error);
  }
}

async function downloadXlsx(report) {
  try {
    const res = await api(`reports/${encodeURIComponent(report.id)}`, { raw: true, query: { format: 'xlsx' } });
    saveBlob(await res.blob(), `monitoring-report-${report.year}-${report.area}.xlsx`);
  } catch (error) {
    showProblem(error);
  }
}

// --- export ---------------------------------------------------------------------------------------

function exportValuesCsv() {
  const indicator = indicatorOf(state.indicator);
  if (!indicator) return;
  saveText(BOM + csvText(valuesCsvRows(indicator, state.year, state.districtRows, t)), 'text/csv;charset=utf-8', `monitoring-${indicator.id}-${state.year}.csv`);
}

function exportValuesGeoJSON() {
  const indicator = indicatorOf(state.indicator);
  if (!indicator || !state.districtShapes) return;
  const features = districtFeatures(state.districtShapes, state.districtRows, locked().district || null);
  saveText(JSON.stringify(valuesGeoJSON(features, indicator, state.year)), 'application/geo+json', `monitoring-${indicator.id}-${state.year}.geojson`);
}

function exportChangesCsv() {
  saveText(BOM + csvText(changesCsvRows(state.changes, state.year, t)), 'text/csv;charset=utf-8', `monitoring-changes-${state.year}.csv`);
}

function exportChangesGeoJSON() {
  saveText(JSON.stringify(changesGeoJSON(state.changes, state.year)), 'application/geo+json', `monitoring-changes-${state.year}.geojson`);
}

// --- choosing -------------------------------------------------------------------------------------

async function selectIndicator(id, { emit = true } = {}) {
  const indicator = indicatorOf(id);
  if (!indicator) throw Object.assign(new Error(t('command.unknown_indicator', { id })), { code: 'not_found' });
  update({ indicator: id });
  for (const card of document.querySelectorAll('#pfm-cards .pfm-card')) card.setAttribute('aria-pressed', card.dataset.indicator === id ? 'true' : 'false');
  const ok = await run(loadDistricts, loadSeries);
  if (!ok) throw Object.assign(new Error(t('problem.unknown', { status: '—' })), { code: 'command_failed' });
  const payload = indicatorEvent(indicator, state.cards.get(id), { year: state.year, area: state.area, locale: ctx.locale });
  if (emit) {
    ctx.emit('indicator-selected', payload);
    ctx.announce(t('indicator.announce', { name: payload.name, status: statusWord(payload.status) }));
  }
  return payload;
}

async function selectYear(year) {
  if (!state.years.includes(year)) throw Object.assign(new Error(t('command.unknown_year', { year, years: state.years.join('、') })), { code: 'not_found' });
  update({ year });
  $('pfm-year').value = String(year);
  const ok = await run(loadCards, loadDistricts, loadChanges);
  renderSeries();
  if (!ok) throw Object.assign(new Error(t('problem.unknown', { status: '—' })), { code: 'command_failed' });
  ctx.announce(t('year.announce', { year }));
  return { year, changes: state.changes.length };
}

async function chooseArea(area, { zoom = false } = {}) {
  const only = locked().district;
  const next = only ? only : area;
  if (next !== 'city' && !state.names.has(next) && !only) return;
  if (next === state.area && !zoom) {
    // The district shown already (a click on it again): its figures stay.
    markMap();
    return;
  }
  update({ area: next });
  $('pfm-area').value = next;
  for (const row of document.querySelectorAll('#pfm-districts tbody tr')) row.classList.toggle('pfm-selected', row.dataset.area === next);
  update({ selectedChange: null });
  markMap();
  renderDistrictFigures();
  if (zoom) fitMap();
  await run(loadCards, loadSeries, loadChanges);
  await loadDistrictDetail(next);
  if (next !== 'city') ctx.announce(t('district.announce', { name: areaName(next) }));
}

function showLocks() {
  const notes = [];
  if (locked().district) {
    notes.push(lockedNote(t('lock.district', { district: `${areaName(locked().district)}（${locked().district}）` })));
    markLocked($('pfm-area'));
  }
  if (Array.isArray(locked().indicators)) {
    notes.push(lockedNote(t('lock.indicators', { names: state.indicators.map(nameOf).join('、') || '—' })));
  }
  $('pfm-locks').replaceChildren(...notes);
}

function renderStatusKey() {
  // The status words with their symbols, once: what the colours mean.
  const key = el('ul', 'pfm-status-key');
  key.setAttribute('aria-label', t('legend.label'));
  for (const status of STATUSES.filter((s) => s !== 'no_target')) {
    const li = el('li');
    li.append(badge(status));
    key.append(li);
  }
  $('pfm-cards-heading').after(key);
}

// --- the map ----------------------------------------------------------------------------------------

/** The map with the districts shaded by status and the change pieces; a click on a district
 *  chooses it, on a piece selects it. */
async function startDistrictMap(figuresShown) {
  setBusy(true);
  try {
    const { map, catalogue } = await startMap($('pfm-map'), { layers: (all) => layersOfKinds(all, { district: false }), identify: false });
    const districtLayer = catalogue.find((l) => l.kind === 'district') || null;
    await loadDistrictShapes(districtLayer);
    update({ map, districtLayer });
    const only = locked().district;
    map.on('select', (sel) => {
      const hit = sel && parseFeatureId(sel.id);
      if (!hit) return;
      if (hit.kind === 'change') selectChange(hit.id, { fromMap: true });
      else if (!only) chooseArea(hit.id).catch(() => {});
      else chooseArea(only).catch(() => {});
    });
    if (figuresShown) renderMap();
    fitMap();
    // A district asked for by the host (not locked): its finer outline.
    loadDistrictDetail(state.area);
  } catch (error) {
    showProblem(error, { code: 'layer_unavailable' });
  } finally {
    setBusy(false);
  }
}

// --- start ------------------------------------------------------------------------------------------

widget.start({
  async init() {
    setBusy(true);
    const { indicators, years } = await api('indicators');
    if (!indicators.length || !years.length) {
      showProblem({ code: 'no_monitoring_data', status: 404 });
      setBusy(false);
      return;
    }
    const params = ctx.params || {};
    const only = locked().district;
    const area = only || (typeof params.district === 'string' && params.district) || 'city';
    update({ indicators, years, year: pickYear(years, params.year), indicator: pickIndicator(indicators, params.indicator), area });
    $('pfm-year').replaceChildren(...[...years].reverse().map((y) => Object.assign(el('option', null, String(y)), { value: String(y) })));
    $('pfm-year').value = String(state.year);
    renderStatusKey();
    // An annual report covers every indicator: a session locked to a set of them has none.
    const reports = Array.isArray(locked().indicators) ? null : loadReports;
    // Every figure asked for at once; what names a district is drawn once the names are in.
    let namesIn;
    namesKnown = new Promise((resolve) => {
      namesIn = resolve;
    });
    const districts = () => loadDistricts().finally(namesIn);
    const ok = await run(districts, loadCards, loadSeries, loadChanges, ...(reports ? [reports] : []));
    if (!reports) {
      $('pfm-report-create').hidden = true;
      $('pfm-report').replaceChildren(el('p', 'pfm-muted', t('report.indicators_locked')));
    }
    showLocks();
    $('pfm-controls').addEventListener('submit', (event) => event.preventDefault());
    $('pfm-year').addEventListener('change', () => selectYear(Number($('pfm-year').value)).catch(() => {}));
    $('pfm-area').addEventListener('change', () => chooseArea($('pfm-area').value, { zoom: true }).catch(() => {}));
    $('pfm-warnings-only').addEventListener('change', () => run(loadChanges));
    $('pfm-report-create').addEventListener('click', () => createReport());
    $('pfm-export-values-csv').addEventListener('click', () => exportValuesCsv());
    $('pfm-export-values-geojson').addEventListener('click', () => exportValuesGeoJSON());
    $('pfm-export-changes-csv').addEventListener('click', () => exportChangesCsv());
    $('pfm-export-changes-geojson').addEventListener('click', () => exportChangesGeoJSON());
    // `ready` goes to the host once the figures are shown; the district map (the largest
    // answer and the most drawing) comes right after it, the widget busy meanwhile.
    ctx.ready.then(() => startDistrictMap(ok));
    setBusy(false);
  },
  commands: {
    async 'show-indicator'(payload) {
      const id = parseIndicatorId((payload || {}).id);
      if (id === null) throw widget.invalidPayload('command.indicator_id');
      const result = await selectIndicator(id);
      const card = document.querySelector(`#pfm-cards .pfm-card[data-indicator="${CSS.escape(id)}"]`);
      if (card) card.focus();
      return result;
    },
    async 'show-year'(payload) {
      const year = parseYear((payload || {}).year);
      if (year === null) throw widget.invalidPayload('command.year');
      return selectYear(year);
    },
  },
});

