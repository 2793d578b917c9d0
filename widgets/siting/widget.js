// The siting widget (辅助选址): a conditions form (scope by district or drawn on the map,
// 用地用海 class, area range, control layers, proximity, sensitive-zone exclusions, score
// weights) → POST /api/v1/siting/search → ranked candidates as a list and on the shared map
// (hover and selection linked both ways) with the measured value behind every condition;
// saved siting plans (选址方案): save, open, re-run (with what changed), delete.
// Parameters, commands, events and errors: manifest.json beside this file; texts: messages.js.
import '../common/base.css';
import './widget.css';
import { clearInvalid, table } from '../common/dom.js';
import { BOM, saveText } from '../common/export.js';
import { formatNumber, localized, m2Text, mText, percentText, toHa } from '../common/format.js';
import { FACILITY_TYPES, ROAD_CLASSES, SENSITIVE_ZONE_TYPES } from '../common/map-model.js';
import { $, createWidget, el, layersOfKinds } from '../common/widget-base.js';
import { errors } from './manifest.json';
import { messages } from './messages.js';
import { candidatesCsv, levelName, nameOf, rangeText, requestBody, stateFromRequest, weightSum } from './model.js';

/** Layer kinds drawn under the candidates for context; the busy ones start hidden. */
const CONTEXT_KINDS = { district: true, urban_boundary: true, ecological_redline: true, basic_farmland: true, sensitive_zone: false, road: true, land_use_plan: false };
/** Controls preset on a fresh form (DOMAIN.md: the usual siting question). */
const DEFAULT_CONTROLS = { urban_boundary: 'inside', ecological_redline: 'outside', basic_farmland: 'outside' };
/** Sensitive zones excluded on a fresh form (the compliance review fails these outright). */
const DEFAULT_EXCLUDE = [['geohazard', 'high'], ['water_source', '1'], ['heritage', 'protection']];
const DEFAULT_WITHIN_M = 2000;

const widget = createWidget({
  name: 'siting',
  messages,
  errors,
  state: {
    /** GET siting/options: districts, land-use classes, controls, criteria, road classes, … */
    options: null,
    map: null,
    // The conditions form (model.js requestBody / stateFromRequest read and write these).
    scopeMode: 'districts',
    districts: new Set(),
    geometry: null,
    landUse: '',
    areaMin: '',
    areaMax: '',
    controls: {},
    proximity: [],
    exclude: [],
    weights: {},
    limit: null,
    outputCrs: null,
    /** The search result shown (POST siting/search, or a plan's). */
    result: null,
    /** The request behind the result: what "save as plan" stores. */
    lastBody: null,
    selectedId: null,
    /** The siting plan (选址方案) open, if any. */
    currentPlan: null,
    plans: [],
    drawing: false,
  },
});
const { ctx, state, update, watch, t, markLocked, lockedNote, showProblem, startMap } = widget;

function landUseName(code) {
  const hit = state.options.land_use_classes.find((c) => c.code === code);
  return hit ? localized(hit.name, ctx.locale) : '';
}

function controlName(kind) {
  const hit = state.options.controls.find((c) => c.kind === kind);
  return hit ? localized(hit.name, ctx.locale) : kind;
}

function areaText(m2) {
  return t('candidate.area', { m2: formatNumber(ctx.locale, m2, 2), ha: formatNumber(ctx.locale, toHa(m2), 2) });
}

/** The conditions of a fresh form: the host's parameters, else the usual siting question. */
function defaultConditions() {
  const params = ctx.params || {};
  const locked = ctx.lockedParams || {};
  const controls = {};
  for (const c of state.options.controls) controls[c.kind] = c.loaded ? DEFAULT_CONTROLS[c.kind] || '' : '';
  const exclude = DEFAULT_EXCLUDE.filter(([type, level]) => (state.options.sensitive_zones[type] || []).includes(level));
  const districts = new Set(Array.isArray(locked.districts) ? locked.districts : Array.isArray(params.districts) ? params.districts : []);
  return {
    scopeMode: 'districts',
    districts,
    geometry: null,
    landUse: locked.land_use || params.land_use || '',
    areaMin: params.area_min_m2 ?? '',
    areaMax: params.area_max_m2 ?? '',
    controls,
    proximity: [
      { kind: 'road', enabled: false, value: state.options.road_classes.includes('provincial') ? 'provincial' : '', withinM: DEFAULT_WITHIN_M, required: true },
      { kind: 'facility', enabled: false, value: '', withinM: DEFAULT_WITHIN_M, required: false },
    ],
    exclude,
    weights: Object.fromEntries(state.options.criteria.map((c) => [c.name, c.default_weight])),
    limit: params.limit || null,
    outputCrs: locked.output_crs || params.output_crs || null,
  };
}

// --- form ---------------------------------------------------------------------------------

function renderDistricts() {
  const list = $('pf-district-list');
  const filter = $('pf-district-filter').value.trim().toLowerCase();
  const locked = Array.isArray(ctx.lockedParams.districts) ? new Set(ctx.lockedParams.districts) : null;
  list.textContent = '';
  const shown = locked ? state.options.districts.filter((d) => locked.has(d.adcode)) : state.options.districts;
  for (const d of shown) {
    if (filter && !`${d.adcode} ${d.name}`.toLowerCase().includes(filter)) continue;
    const label = el('label', 'pf-district');
    const box = el('input');
    box.type = 'checkbox';
    box.value = d.adcode;
    box.checked = state.districts.has(d.adcode);
    box.disabled = Boolean(locked);
    box.addEventListener('change', () => {
      const districts = new Set(state.districts);
      if (box.checked) districts.add(d.adcode);
      else districts.delete(d.adcode);
      update({ districts });
    });
    label.append(box, ` ${d.name}（${d.adcode}）`);
    list.append(label);
  }
  showDistrictCount();
}

function showDistrictCount() {
  $('pf-district-list').setAttribute('aria-description', t('scope.selected', { n: state.districts.size }));
}

function setScopeMode(mode) {
  update({ scopeMode: mode });
  for (const radio of document.querySelectorAll('input[name="scope-mode"]')) radio.checked = radio.value === mode;
  $('pf-scope-districts').hidden = mode !== 'districts';
  $('pf-scope-geometry').hidden = mode !== 'geometry';
  if (state.map) {
    if (mode === 'geometry' && state.geometry) state.map.setOverlay('scope', { type: 'Feature', geometry: state.geometry, properties: {} }, 'drawing');
    else state.map.clearOverlay('scope');
  }
}

function renderLandUse() {
  const select = $('pf-land-use');
  select.textContent = '';
  const locked = ctx.lockedParams.land_use;
  const any = el('option', '', t('land_use.any'));
  any.value = '';
  if (!locked) select.append(any);
  for (const c of state.options.land_use_classes) {
    if (locked && !c.code.startsWith(String(locked))) continue;
    const option = el('option', '', `${'\u3000'.repeat(c.level - 1)}${c.code} ${localized(c.name, ctx.locale)}`);
    option.value = c.code;
    select.append(option);
  }
  select.value = state.landUse || '';
  if (locked) {
    select.value = String(locked);
    markLocked(select);
  }
  select.addEventListener('change', () => {
    update({ landUse: select.value });
  });
}

function renderControls() {
  const box = $('pf-controls');
  box.textContent = '';
  for (const c of state.options.controls) {
    const id = `pf-control-${c.kind}`;
    const label = el('label', 'pf-siting-label', `${controlName(c.kind)}${c.loaded ? '' : ` ${t('controls.not_loaded')}`}`);
    label.htmlFor = id;
    const select = el('select');
    select.id = id;
    for (const [value, key] of [['', 'controls.any'], ['inside', 'controls.inside'], ['outside', 'controls.outside']]) {
      const option = el('option', '', t(key));
      option.value = value;
      select.append(option);
    }
    select.value = state.controls[c.kind] || '';
    select.disabled = !c.loaded;
    select.addEventListener('change', () => update({ controls: { ...state.controls, [c.kind]: select.value } }));
    const cell = el('div', 'pf-siting-cell');
    cell.append(label, select);
    box.append(cell);
  }
}

function renderProximity() {
  const box = $('pf-proximity');
  box.textContent = '';
  for (const row of state.proximity) {
    const values = row.kind === 'road' ? state.options.road_classes : state.options.facility_types;
    const table = row.kind === 'road' ? ROAD_CLASSES : FACILITY_TYPES;
    const wrap = el('div', 'pf-proximity-row');
    wrap.dataset.kind = row.kind;
    const enable = el('input');
    enable.type = 'checkbox';
    enable.id = `pf-prox-${row.kind}`;
    enable.checked = row.enabled;
    enable.disabled = !values.length;
    const enableLabel = el('label', '', t(`proximity.${row.kind}`));
    enableLabel.htmlFor = enable.id;
    const select = el('select');
    select.id = `pf-prox-${row.kind}-value`;
    select.setAttribute('aria-label', `${t(`proximity.${row.kind}`)}: ${row.kind === 'road' ? t('proximity.any_class') : t('proximity.any_type')}`);
    const any = el('option', '', row.kind === 'road' ? t('proximity.any_class') : t('proximity.any_type'));
    any.value = '';
    select.append(any);
    for (const v of values) {
      const option = el('option', '', nameOf(table, v, ctx.locale));
      option.value = v;
      select.append(option);
    }
    select.value = row.value || '';
    const within = el('input');
    within.type = 'number';
    within.min = '1';
    within.step = 'any';
    within.id = `pf-prox-${row.kind}-within`;
    within.value = row.withinM ?? '';
    const withinLabel = el('label', 'pf-siting-label', t('proximity.within'));
    withinLabel.htmlFor = within.id;
    const required = el('input');
    required.type = 'checkbox';
    required.id = `pf-prox-${row.kind}-required`;
    required.checked = row.required;
    const requiredLabel = el('label', '', t('proximity.required'));
    requiredLabel.htmlFor = required.id;
    const sync = () => {
      const changed = { ...row, enabled: enable.checked, value: select.value, withinM: within.value, required: required.checked };
      update({ proximity: state.proximity.map((p) => (p.kind === row.kind ? changed : p)) });
      for (const input of [select, within, required]) input.disabled = !enable.checked;
    };
    for (const input of [enable, select, within, required]) input.addEventListener('change', sync);
    const head = el('div', 'pf-proximity-head');
    head.append(enable, enableLabel, select);
    const tail = el('div', 'pf-proximity-tail');
    const withinBox = el('span');
    withinBox.append(withinLabel, within);
    const requiredBox = el('span');
    requiredBox.append(required, requiredLabel);
    tail.append(withinBox, requiredBox);
    wrap.append(head, tail);
    box.append(wrap);
    sync();
  }
}

function renderExclude() {
  const box = $('pf-exclude');
  box.textContent = '';
  const loaded = state.options.controls.some((c) => c.kind === 'sensitive_zone' && c.loaded);
  if (!loaded) {
    box.append(el('p', 'pf-siting-hint', t('exclude.none')));
    return;
  }
  for (const [type, levels] of Object.entries(state.options.sensitive_zones)) {
    const typeName = nameOf(SENSITIVE_ZONE_TYPES, type, ctx.locale);
    for (const level of levels.length ? levels : [null]) {
      const label = el('label', 'pf-check');
      const box2 = el('input');
      box2.type = 'checkbox';
      box2.dataset.type = type;
      box2.dataset.level = level ?? '';
      box2.checked = state.exclude.some(([ty, lv]) => ty === type && (lv ?? null) === level);
      box2.addEventListener('change', () => {
        const others = state.exclude.filter(([ty, lv]) => !(ty === type && (lv ?? null) === level));
        update({ exclude: box2.checked ? [...others, [type, level]] : others });
      });
      label.append(box2, ` ${typeName} · ${level === null ? t('any_level') : levelName(level, ctx.locale)}`);
      box.append(label);
    }
  }
}

function renderWeights() {
  const box = $('pf-weights');
  box.textContent = '';
  for (const c of state.options.criteria) {
    const id = `pf-weight-${c.name}`;
    const label = el('label', 'pf-siting-label', localized(c.label, ctx.locale));
    label.htmlFor = id;
    const input = el('input');
    input.type = 'number';
    input.id = id;
    input.min = '0';
    input.max = '1';
    input.step = '0.05';
    input.value = String(state.weights[c.name] ?? 0);
    input.addEventListener('input', () => {
      update({ weights: { ...state.weights, [c.name]: input.value === '' ? 0 : Number(input.value) } });
    });
    const cell = el('div', 'pf-siting-cell');
    cell.append(label, input);
    box.append(cell);
  }
  showWeightSum();
}

function showWeightSum() {
  const sum = weightSum(state.weights);
  const out = $('pf-weights-sum');
  out.textContent = sum === 1 ? t('weights.sum_ok') : t('weights.sum', { sum });
  out.dataset.kind = sum === 1 ? 'ok' : 'error';
}

function renderForm() {
  const lockedDistricts = Array.isArray(ctx.lockedParams.districts);
  const geometryRadio = document.querySelector('input[name="scope-mode"][value="geometry"]');
  geometryRadio.disabled = lockedDistricts;
  const scope = $('pf-scope');
  scope.querySelectorAll('.pf-lock').forEach((n) => n.remove());
  if (lockedDistricts) {
    const names = state.options.districts.filter((d) => ctx.lockedParams.districts.includes(d.adcode)).map((d) => d.name);
    scope.querySelector('legend').after(lockedNote(t('lock.districts', { names: names.join('、') || ctx.lockedParams.districts.join(', ') })));
  }
  renderDistricts();
  setScopeMode(state.scopeMode);
  $('pf-area-min').value = state.areaMin ?? '';
  $('pf-area-max').value = state.areaMax ?? '';
  $('pf-land-use').value = state.landUse || '';
  renderControls();
  renderProximity();
  renderExclude();
  renderWeights();
  showDrawnArea();
}

function readForm() {
  update({ areaMin: $('pf-area-min').value, areaMax: $('pf-area-max').value });
  if (!ctx.lockedParams.land_use) update({ landUse: $('pf-land-use').value });
}

function showDrawnArea() {
  const status = $('pf-draw-status');
  $('pf-draw-clear').disabled = !state.geometry;
  if (!state.geometry) {
    status.textContent = '';
    return;
  }
  // Planar area of the lon/lat ring scaled to metres: a display hint; the server measures.
  const ring = state.geometry.coordinates[0] || [];
  const lat0 = ((ring[0] && ring[0][1]) || 0) * (Math.PI / 180);
  let twice = 0;
  for (let i = 0; i + 1 < ring.length; i += 1) twice += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  const m2 = Math.abs(twice / 2) * 111320 * 111320 * Math.cos(lat0);
  status.textContent = t('scope.drawn', { ha: formatNumber(ctx.locale, toHa(m2), 1) });
}

async function drawScope() {
  if (state.drawing) return;
  update({ drawing: true });
  $('pf-draw-status').textContent = t('scope.draw_hint');
  state.map.clearOverlay('scope');
  try {
    const geometry = await state.map.draw('Polygon');
    if (geometry) {
      update({ geometry: geometry.geometry || geometry });
      setScopeMode('geometry');
      showDrawnArea();
    } else {
      $('pf-draw-status').textContent = t('scope.draw_cancelled');
    }
  } finally {
    update({ drawing: false });
  }
}

// --- search and results ---------------------------------------------------------------------

const FIELD_INPUTS = {
  area_min_m2: 'pf-area-min',
  area_max_m2: 'pf-area-max',
  land_use: 'pf-land-use',
  'scope.districts': 'pf-district-filter',
  weights: 'pf-weight-area_fit',
  name: 'pf-plan-name',
};

async function runSearch() {
  readForm();
  if (state.scopeMode === 'districts' ? !state.districts.size : !state.geometry) {
    showProblem({ text: t('scope.none'), errors: [{ field: 'scope.districts' }] }, { fields: FIELD_INPUTS, code: 'invalid_siting_request' });
    return null;
  }
  clearInvalid();
  const body = requestBody(state);
  ctx.showStatus(t('search.running'));
  $('pf-search').disabled = true;
  try {
    const found = await ctx.api('siting/search', { method: 'POST', body });
    ctx.clearStatus();
    update({ lastBody: body, currentPlan: null });
    showResult(found, null);
    ctx.announce(t('results.announce', { total: found.total }));
    return found;
  } catch (error) {
    showProblem(error, { fields: FIELD_INPUTS });
    throw error;
  } finally {
    $('pf-search').disabled = false;
  }
}

function mapGeometry(c) {
  return c.geometry_4490 || c.geometry;
}

function showResult(found, diff) {
  update({ result: found, selectedId: null });
  for (const id of ['pf-plan-save-button', 'pf-export-csv', 'pf-export-geojson', 'pf-print']) $(id).disabled = false;
  const list = $('pf-candidates');
  list.textContent = '';
  $('pf-candidate-detail').hidden = true;
  const summary = $('pf-results-summary');
  summary.textContent = found.total ? t('results.summary', { total: found.total, shown: found.candidates.length }) : t('results.none');
  renderDiff(diff);
  for (const c of found.candidates) list.append(candidateItem(c));
  if (state.map) {
    const fc = {
      type: 'FeatureCollection',
      features: found.candidates.map((c) => ({ type: 'Feature', id: String(c.feature_id), geometry: mapGeometry(c), properties: { rank: String(c.rank), feature_id: c.feature_id, area_m2: c.area_m2, land_use: c.land_use } })),
    };
    state.map.setOverlay('candidates', fc, 'candidate');
    if (found.candidates.length) state.map.fitTo('candidates');
  }
}

function candidateItem(c) {
  const li = el('li', 'pf-candidate-item');
  li.dataset.fid = String(c.feature_id);
  const button = el('button', 'pf-candidate');
  button.type = 'button';
  button.setAttribute('aria-pressed', 'false');
  const landUse = `${c.land_use || ''} ${localized(c.land_use_name, ctx.locale)}`.trim();
  const score = formatNumber(ctx.locale, c.score, 3);
  // The button is named by what it shows (a screen reader reads what a sighted user sees).
  const head = el('span', 'pf-candidate-head');
  head.append(el('span', 'pf-rank', t('candidate.rank', { rank: c.rank })));
  if (c.recommended) head.append(el('span', 'pf-recommended', t('candidate.recommended')));
  const idEl = el('span', 'pf-candidate-id');
  idEl.append(el('span', 'pf-visually-hidden', `${t('candidate.parcel')} `), `#${c.feature_id}`);
  head.append(idEl);
  const body = el('span', 'pf-candidate-body');
  body.append(el('span', '', landUse), el('span', '', areaText(c.area_m2)));
  if (c.district_name || c.district) body.append(el('span', '', c.district_name || c.district));
  const scoreEl = el('span', 'pf-score', t('candidate.score', { score }));
  const bar = el('span', 'pf-score-bar');
  bar.style.setProperty('--pf-score', String(Math.max(0, Math.min(1, c.score))));
  bar.setAttribute('aria-hidden', 'true');
  scoreEl.append(bar);
  button.append(head, body, scoreEl);
  button.addEventListener('click', () => selectCandidate(c.feature_id, { zoom: true }));
  const hover = () => {
    li.classList.add('pf-hover');
    state.map && state.map.highlight('candidates', c.feature_id);
  };
  const leave = () => {
    li.classList.remove('pf-hover');
    state.map && state.map.highlight(state.selectedId !== null ? 'candidates' : null, state.selectedId);
  };
  button.addEventListener('mouseenter', hover);
  button.addEventListener('focus', hover);
  button.addEventListener('mouseleave', leave);
  button.addEventListener('blur', leave);
  li.append(button);
  return li;
}

function selectCandidate(fid, { zoom = false, fromMap = false } = {}) {
  const c = state.result && state.result.candidates.find((x) => String(x.feature_id) === String(fid));
  if (!c) return null;
  update({ selectedId: c.feature_id });
  for (const item of document.querySelectorAll('.pf-candidate-item')) {
    const on = item.dataset.fid === String(c.feature_id);
    item.classList.toggle('pf-selected', on);
    item.querySelector('button').setAttribute('aria-pressed', on ? 'true' : 'false');
    if (on && fromMap) {
      item.scrollIntoView({ block: 'nearest' });
      item.querySelector('button').focus({ preventScroll: true });
    }
  }
  if (state.map) {
    state.map.highlight('candidates', c.feature_id);
    // Zoomed to the parcel with its surroundings, not filling the frame.
    if (zoom) state.map.fitTo({ overlay: 'candidates', id: c.feature_id }, { maxZoom: 16, padding: 60 });
  }
  renderDetail(c);
  ctx.announce(t('candidate.selected', { id: c.feature_id, rank: c.rank }));
  ctx.emit('site-selected', {
    feature_id: c.feature_id,
    layer: c.layer,
    rank: c.rank,
    score: c.score,
    area_m2: c.area_m2,
    land_use: c.land_use,
    geometry: c.geometry,
    crs: state.result.crs,
  });
  return c;
}

function reasonRow(r) {
  const locale = ctx.locale;
  const pct = (v) => percentText(locale, v);
  const m2 = (v) => m2Text(locale, v);
  const m = (v) => mText(locale, v);
  let label;
  let value;
  let requirement = t('req.any');
  if (r.condition === 'scope' && r.kind === 'district') {
    label = t('reason.scope_district');
    value = r.name ? `${r.name}（${r.value}）` : r.value;
  } else if (r.condition === 'scope') {
    label = t('reason.scope_polygon');
    value = pct(r.value);
    requirement = t('req.share', { pct: formatNumber(locale, r.threshold * 100, 1) });
  } else if (r.condition === 'land_use') {
    label = t('reason.land_use');
    value = `${r.value} ${landUseName(r.value)}`;
    requirement = t('req.prefix', { code: r.expected, name: landUseName(r.expected) });
  } else if (r.condition === 'area') {
    label = t('reason.area');
    value = m2(r.value);
    requirement = rangeText(t, locale, r.min, r.max);
  } else if (r.condition === 'control') {
    label = t(r.mode === 'inside' ? 'reason.control_inside' : 'reason.control_outside', { name: controlName(r.kind) });
    value = r.mode === 'inside' ? `${pct(r.value)}（${m2(r.overlap_m2)}）` : m2(r.value);
    requirement = r.mode === 'inside' ? t('req.share', { pct: formatNumber(locale, r.threshold * 100, 1) }) : t('req.overlap', { tol: formatNumber(locale, r.threshold, 0) });
  } else if (r.condition === 'exclude') {
    label = t('reason.exclude', { type: nameOf(SENSITIVE_ZONE_TYPES, r.type, locale), level: r.level ? levelName(r.level, locale) : t('any_level') });
    value = m2(r.value);
    requirement = t('req.overlap', { tol: formatNumber(locale, r.threshold, 0) });
  } else if (r.condition === 'proximity') {
    label = r.kind === 'road'
      ? t('reason.proximity_road', { class: r.class ? nameOf(ROAD_CLASSES, r.class, locale) : t('any_road') })
      : t('reason.proximity_facility', { type: r.type ? nameOf(FACILITY_TYPES, r.type, locale) : t('any_facility') });
    value = r.value === null ? '—' : m(r.value);
    if (r.threshold !== null && r.threshold !== undefined) requirement = r.required ? t('req.within', { m: formatNumber(locale, r.threshold, 0) }) : t('req.scored', { m: formatNumber(locale, r.threshold, 0) });
  } else {
    label = r.condition;
    value = String(r.value);
  }
  const tr = el('tr');
  tr.dataset.condition = r.condition;
  if (r.kind) tr.dataset.kind = r.kind;
  const verdict = el('td', r.holds ? 'pf-holds' : 'pf-fails', r.holds ? t('detail.holds') : t('detail.fails'));
  verdict.dataset.holds = String(Boolean(r.holds));
  tr.append(el('th', '', label), el('td', 'pf-num', value), el('td', '', requirement), verdict);
  return tr;
}

function renderDetail(c) {
  const box = $('pf-candidate-detail');
  box.textContent = '';
  box.hidden = false;
  const heading = el('h3', '', t('detail.heading', { id: c.feature_id, rank: c.rank }));
  if (c.recommended) heading.append(' ', el('span', 'pf-recommended', t('candidate.recommended')));
  const zoom = el('button', 'pf-button pf-button-secondary pf-no-print', t('detail.zoom'));
  zoom.type = 'button';
  zoom.addEventListener('click', () => state.map && state.map.fitTo({ overlay: 'candidates', id: c.feature_id }, { maxZoom: 16, padding: 60 }));
  box.append(heading, zoom);
  box.append(table(t('detail.reasons'), [t('detail.condition'), t('detail.value'), t('detail.requirement'), t('detail.result')], c.reasons.map(reasonRow), 'pf-siting-table'));
  const labels = Object.fromEntries(state.options.criteria.map((x) => [x.name, localized(x.label, ctx.locale)]));
  const rows = Object.entries(c.criteria || {}).map(([name, v]) => {
    const tr = el('tr');
    tr.dataset.criterion = name;
    let value = '—';
    if (v.available === false) value = t('detail.unavailable');
    else if (v.value !== null && v.value !== undefined) {
      if (v.unit === 'm2') value = m2Text(ctx.locale, v.value);
      else if (v.unit === 'm') value = mText(ctx.locale, v.value);
      else if (v.unit === 'share') value = percentText(ctx.locale, v.value);
      else value = formatNumber(ctx.locale, v.value, 3);
    }
    tr.append(
      el('th', '', labels[name] || name),
      el('td', 'pf-num', value),
      el('td', 'pf-num', v.score === undefined ? '—' : formatNumber(ctx.locale, v.score, 3)),
      el('td', 'pf-num', formatNumber(ctx.locale, v.weight, 2)),
      el('td', 'pf-num', formatNumber(ctx.locale, v.contribution, 3)),
    );
    return tr;
  });
  box.append(table(`${t('detail.criteria')}：${formatNumber(ctx.locale, c.score, 3)}`, [t('detail.criterion'), t('detail.value'), t('detail.normalised'), t('detail.weight'), t('detail.contribution')], rows, 'pf-siting-table'));
}

function renderDiff(diff) {
  const box = $('pf-plan-diff');
  box.textContent = '';
  if (!diff) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.append(el('h3', '', t('diff.heading')));
  const lines = el('ul');
  const add = (text, kind) => {
    const li = el('li', '', text);
    if (kind) li.dataset.kind = kind;
    lines.append(li);
  };
  if (!diff.changed) add(t('diff.unchanged'), 'unchanged');
  else {
    const versions = diff.data_versions.changed.map((v) => t('diff.version', { layer: v.layer, before: v.before ?? '—', after: v.after ?? '—' }));
    add(t('diff.versions', { changes: versions.join('；') || t('diff.none') }), 'versions');
    add(t('diff.total', { before: diff.total.before, after: diff.total.after }), 'total');
    const item = (c) => t('diff.item', { id: c.feature_id, rank: c.rank });
    if (diff.added.length) add(t('diff.added', { items: diff.added.map(item).join('、') }), 'added');
    if (diff.removed.length) add(t('diff.removed', { items: diff.removed.map(item).join('、') }), 'removed');
    if (diff.rank_changes.length) {
      add(t('diff.ranks', { items: diff.rank_changes.map((c) => t('diff.rank', { id: c.feature_id, before: c.rank_before, after: c.rank_after })).join('、') }), 'ranks');
    }
    if (diff.modified.length) {
      add(t('diff.modified', { items: diff.modified.map((m) => Object.entries(m.fields).map(([f, v]) => `${f} ${v.before} → ${v.after}`).join('，')).join('；') }), 'modified');
    }
    const rec = (r) => (r ? `#${r.feature_id}` : '—');
    if (rec(diff.recommended.before) !== rec(diff.recommended.after)) add(t('diff.recommended', { before: rec(diff.recommended.before), after: rec(diff.recommended.after) }), 'recommended');
  }
  box.append(lines);
}

// --- export ---------------------------------------------------------------------------------

function download(text, type, file) {
  saveText(text, type, file);
  ctx.announce(t('export.done', { file }));
}

function exportName(ext) {
  const stamp = new Date().toISOString().slice(0, 10);
  return `siting-${state.currentPlan ? `plan-${state.currentPlan.id}` : 'search'}-${stamp}.${ext}`;
}

function exportCsv() {
  if (!state.result) return;
  // Each condition's column is headed by its label in the reasons table (its first cell).
  const label = (r) => reasonRow(r).querySelector('th').textContent;
  const csv = candidatesCsv(state.result.candidates, { headers: t('export.headers').split(','), label, recommendedText: t('candidate.recommended') });
  download(BOM + csv, 'text/csv;charset=utf-8', exportName('csv'));
}

function exportGeoJSON() {
  if (!state.result) return;
  // RFC 7946 GeoJSON is longitude/latitude: always the EPSG:4490 geometry.
  const fc = {
    type: 'FeatureCollection',
    features: state.result.candidates.map((c) => ({
      type: 'Feature',
      id: c.feature_id,
      geometry: mapGeometry(c),
      properties: { rank: c.rank, recommended: c.recommended, feature_id: c.feature_id, layer: c.layer, land_use: c.land_use, district: c.district, area_m2: c.area_m2, score: c.score },
    })),
  };
  download(JSON.stringify(fc), 'application/geo+json', exportName('geojson'));
}

// --- plans ----------------------------------------------------------------------------------

async function loadPlans() {
  const response = await ctx.api('siting/plans');
  update({ plans: response.plans || [] });
  renderPlans();
}

function renderPlans() {
  const list = $('pf-plan-list');
  list.textContent = '';
  if (!state.plans.length) {
    list.append(el('li', 'pf-plan-empty', t('plans.empty')));
    return;
  }
  for (const plan of state.plans) {
    const li = el('li', 'pf-plan');
    li.dataset.plan = String(plan.id);
    if (state.currentPlan && state.currentPlan.id === plan.id) li.classList.add('pf-current');
    // The name is user data: always text, never markup.
    const name = el('span', 'pf-plan-name', plan.name);
    const date = new Date(plan.updated_at).toLocaleString(ctx.locale);
    const meta = el('span', 'pf-plan-meta', t('plans.meta', { date, total: plan.total, runs: plan.runs }));
    const actions = el('span', 'pf-plan-actions');
    const button = (key, handler, className = '') => {
      const b = el('button', `pf-button pf-button-secondary ${className}`.trim(), t(key));
      b.type = 'button';
      b.dataset.action = key.split('.')[1];
      b.setAttribute('aria-label', t('plans.action_label', { action: t(key), name: plan.name }));
      b.addEventListener('click', handler);
      return b;
    };
    const remove = button('plans.delete', () => {
      remove.hidden = true;
      confirm.hidden = false;
      cancel.hidden = false;
      confirm.focus();
    });
    const confirm = button('plans.confirm_delete', () => deletePlan(plan), 'pf-danger');
    const cancel = button('plans.cancel', () => {
      confirm.hidden = true;
      cancel.hidden = true;
      remove.hidden = false;
      remove.focus();
    });
    confirm.hidden = true;
    cancel.hidden = true;
    const quietly = (action) => () => action(plan.id).catch(() => {});
    actions.append(button('plans.open', quietly(openPlan)), button('plans.run', quietly(rerunPlan)), remove, confirm, cancel);
    li.append(name, meta, actions);
    list.append(li);
  }
}

function applyPlan(plan) {
  update({ ...stateFromRequest({ scope: plan.scope, ...plan.conditions, weights: plan.weights, limit: plan.limit }, { ...state, ...defaultConditions() }), currentPlan: plan });
  renderForm();
  update({ lastBody: requestBody(state) });
  showResult(plan.result, plan.diff);
  const summary = $('pf-results-summary');
  summary.textContent = `${t('plans.current', { name: plan.name })} · ${summary.textContent}`;
  renderPlans();
}

/** Show the plan the server answers `path` with (a plan opened, or re-run). */
async function showPlanFrom(path, options) {
  let plan;
  try {
    plan = await ctx.api(path, options);
  } catch (error) {
    showProblem(error, { fields: FIELD_INPUTS });
    throw error;
  }
  applyPlan(plan);
  return plan;
}

async function openPlan(id) {
  const plan = await showPlanFrom(`siting/plans/${encodeURIComponent(id)}`);
  ctx.announce(t('plans.opened', { name: plan.name }));
  return plan;
}

async function rerunPlan(id) {
  const plan = await showPlanFrom(`siting/plans/${encodeURIComponent(id)}/run`, { method: 'POST' });
  ctx.announce(plan.diff && plan.diff.changed ? t('diff.heading') : t('diff.unchanged'));
  await loadPlans();
  return plan;
}

async function deletePlan(plan) {
  try {
    await ctx.api(`siting/plans/${encodeURIComponent(plan.id)}`, { method: 'DELETE' });
    if (state.currentPlan && state.currentPlan.id === plan.id) update({ currentPlan: null });
    ctx.emit('plan-deleted', { id: plan.id });
    ctx.announce(t('plans.deleted', { name: plan.name }));
    await loadPlans();
    $('pf-plan-name').focus();
  } catch (error) {
    showProblem(error, { fields: FIELD_INPUTS });
  }
}

async function savePlan(event) {
  event.preventDefault();
  const nameInput = $('pf-plan-name');
  const name = nameInput.value.trim();
  if (!state.lastBody) {
    ctx.showStatus(t('plans.need_result'), 'error');
    return;
  }
  if (!name || name.length > 200) {
    nameInput.setAttribute('aria-invalid', 'true');
    ctx.showStatus(t('plans.need_name'), 'error');
    nameInput.focus();
    return;
  }
  nameInput.removeAttribute('aria-invalid');
  try {
    const plan = await ctx.api('siting/plans', { method: 'POST', body: { name, ...state.lastBody } });
    update({ currentPlan: plan });
    nameInput.value = '';
    ctx.clearStatus();
    ctx.emit('plan-saved', { id: plan.id, name: plan.name, total: plan.total });
    ctx.announce(t('plans.saved', { name: plan.name }));
    await loadPlans();
  } catch (error) {
    showProblem(error, { fields: FIELD_INPUTS });
  }
}

// --- map ------------------------------------------------------------------------------------

async function createSitingMap() {
  const { map } = await startMap($('pf-map'), { layers: (catalogue) => layersOfKinds(catalogue, CONTEXT_KINDS), identify: false });
  update({ map });
  // Map → list: a click selects the candidate, hovering marks it in the list.
  map.on('select', (sel) => {
    if (sel && sel.overlay === 'candidates') selectCandidate(sel.id, { fromMap: true });
  });
  const ol = map.olMap;
  let hovered = null;
  ol.on('pointermove', (event) => {
    if (event.dragging) return;
    let hit = null;
    ol.forEachFeatureAtPixel(event.pixel, (feature, layer) => {
      const info = layer && layer.get('pf');
      if (info && info.type === 'overlay' && info.name === 'candidates') {
        hit = String(feature.getId());
        return true;
      }
      return undefined;
    });
    if (hit === hovered) return;
    hovered = hit;
    for (const item of document.querySelectorAll('.pf-candidate-item')) item.classList.toggle('pf-hover', item.dataset.fid === hit);
    map.highlight(hit !== null ? 'candidates' : state.selectedId !== null ? 'candidates' : null, hit !== null ? hit : state.selectedId);
    ol.getTargetElement().style.cursor = hit !== null ? 'pointer' : '';
  });
}

// --- start ----------------------------------------------------------------------------------

widget.start({
  async init() {
    // The map's layers and the saved plans are asked for beside the options (each is one
    // round trip the widget would otherwise wait for in turn); `ready` waits for all three.
    const mapStarted = createSitingMap();
    const plansLoaded = loadPlans();
    for (const started of [mapStarted, plansLoaded]) started.catch(() => {}); // awaited below
    update({ options: await ctx.api('siting/options') });
    update(defaultConditions());
    watch('districts', showDistrictCount);
    watch('weights', showWeightSum);
    renderLandUse();
    renderForm();
    $('pf-results-summary').textContent = t('results.initial');
    for (const radio of document.querySelectorAll('input[name="scope-mode"]')) {
      radio.addEventListener('change', () => radio.checked && setScopeMode(radio.value));
    }
    $('pf-district-filter').addEventListener('input', renderDistricts);
    $('pf-draw').addEventListener('click', () => drawScope());
    $('pf-draw-clear').addEventListener('click', () => {
      update({ geometry: null });
      state.map && state.map.clearOverlay('scope');
      showDrawnArea();
    });
    $('pf-weights-reset').addEventListener('click', () => {
      update({ weights: Object.fromEntries(state.options.criteria.map((c) => [c.name, c.default_weight])) });
      renderWeights();
    });
    $('pf-siting-form').addEventListener('submit', (event) => {
      event.preventDefault();
      runSearch().catch(() => {});
    });
    $('pf-plan-save').addEventListener('submit', savePlan);
    $('pf-export-csv').addEventListener('click', exportCsv);
    $('pf-export-geojson').addEventListener('click', exportGeoJSON);
    $('pf-print').addEventListener('click', () => window.print());
    await mapStarted;
    await plansLoaded;
    if (ctx.params.plan) await openPlan(ctx.params.plan).catch(() => {});
  },
  commands: {
    async search({ conditions = {} } = {}) {
      if (typeof conditions !== 'object' || conditions === null) throw widget.invalidPayload('command.conditions');
      update(stateFromRequest(conditions, state));
      renderForm();
      if (!ctx.lockedParams.land_use) $('pf-land-use').value = state.landUse || '';
      const found = await runSearch();
      if (!found) throw Object.assign(new Error(t('scope.none')), { code: 'invalid_siting_request' });
      return { total: found.total, recommended: found.candidates.length ? found.candidates[0].feature_id : null };
    },
    async 'open-plan'({ id } = {}) {
      const plan = await openPlan(widget.positiveInteger(id));
      return { id: plan.id, name: plan.name, total: plan.total };
    },
  },
});
