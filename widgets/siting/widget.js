// The siting widget (辅助选址): a conditions form (scope by district or drawn on the map,
// 用地用海 class, area range, control layers, proximity, sensitive-zone exclusions, score
// weights) → POST /api/v1/siting/search → ranked candidates as a list and on the shared map
// (hover and selection linked both ways) with the measured value behind every condition;
// saved siting plans (选址方案): save, open, re-run (with what changed), delete.
// Parameters, commands, events and errors: manifest.json beside this file.
import '../common/base.css';
import './widget.css';
import { invalidPayload, positiveInteger } from '../common/commands.js';
import { clearInvalid, el, table } from '../common/dom.js';
import { BOM, saveText } from '../common/export.js';
import { formatNumber, localized, m2Text, mText, percentText, toHa } from '../common/format.js';
import { createWidgetMap } from '../common/map.js';
import { FACILITY_TYPES, ROAD_CLASSES, SENSITIVE_ZONE_TYPES } from '../common/map-model.js';
import { startWidget } from '../common/runtime.js';
import { candidatesCsv, levelName, nameOf, rangeText, requestBody, stateFromRequest, weightSum } from './model.js';

/** Layer kinds drawn under the candidates for context; the busy parcel layer starts hidden. */
const CONTEXT_KINDS = { district: true, urban_boundary: true, ecological_redline: true, basic_farmland: true, sensitive_zone: false, road: true, land_use_plan: false };
/** Controls preset on a fresh form (DOMAIN.md: the usual siting question). */
const DEFAULT_CONTROLS = { urban_boundary: 'inside', ecological_redline: 'outside', basic_farmland: 'outside' };
/** Sensitive zones excluded on a fresh form (the compliance review fails these outright). */
const DEFAULT_EXCLUDE = [['geohazard', 'high'], ['water_source', '1'], ['heritage', 'protection']];
const DEFAULT_WITHIN_M = 2000;
/** The condition symbols: a status is never told by colour alone. */
const HOLDS = { true: '✔', false: '✖' };

const messages = {
  'zh-CN': {
    'lock.label': '🔒 已由宿主系统锁定',
    'lock.districts': '🔒 搜索范围已由宿主系统锁定为：{names}',
    'scope.none': '请至少选择一个行政区，或在地图上绘制范围。',
    'scope.draw_hint': '请在地图上逐点单击绘制范围，双击结束；Esc 取消。',
    'scope.drawn': '已绘制范围：约 {ha} 公顷。',
    'scope.draw_cancelled': '已取消绘制。',
    'scope.selected': '已选 {n} 个行政区',
    'land_use.any': '不限用途',
    'controls.any': '不限',
    'controls.inside': '须位于其内',
    'controls.outside': '须位于其外',
    'controls.not_loaded': '（图层未导入）',
    'proximity.road': '靠近道路',
    'proximity.facility': '靠近设施',
    'proximity.any_class': '任意等级',
    'proximity.any_type': '任意类型',
    'proximity.within': '距离不超过（米）',
    'proximity.required': '必须满足（否则只参与评分）',
    'exclude.none': '敏感区图层未导入。',
    'weights.sum': '权重合计 {sum}（须为 1）',
    'weights.sum_ok': '权重合计 1 ✔',
    'search.running': '正在搜索……',
    'results.summary': '共 {total} 个地块符合全部条件，按评分列出前 {shown} 个。',
    'results.none': '没有地块符合全部条件。可放宽面积、管控或邻近条件后重试。',
    'results.announce': '搜索完成：{total} 个地块符合条件。',
    'results.initial': '设置条件后点击“搜索候选地块”。',
    'candidate.rank': '第 {rank} 名',
    'candidate.recommended': '★ 推荐',
    'candidate.area': '{m2} m²（{ha} 公顷）',
    'candidate.score': '评分 {score}',
    'candidate.parcel': '地块',
    'candidate.selected': '已选择地块 {id}（第 {rank} 名）',
    'detail.heading': '地块 {id} · 第 {rank} 名',
    'detail.reasons': '逐项条件（实测值）',
    'detail.condition': '条件',
    'detail.value': '实测值',
    'detail.requirement': '要求',
    'detail.result': '结论',
    'detail.holds': '✔ 满足',
    'detail.fails': '✖ 不满足',
    'detail.criteria': '评分构成',
    'detail.criterion': '指标',
    'detail.normalised': '得分（0–1）',
    'detail.weight': '权重',
    'detail.contribution': '贡献',
    'detail.unavailable': '（图层未导入，不计分）',
    'detail.zoom': '在地图上定位',
    'reason.scope_district': '行政区',
    'reason.scope_polygon': '位于绘制范围内的比例',
    'reason.land_use': '用地用海分类',
    'reason.area': '面积',
    'reason.control_inside': '位于“{name}”内的比例',
    'reason.control_outside': '与“{name}”重叠面积',
    'reason.exclude': '与{type}（{level}）重叠面积',
    'reason.proximity_road': '距{class}距离',
    'reason.proximity_facility': '距{type}距离',
    'req.any': '—',
    'req.prefix': '属于 {code} {name}',
    'req.range': '{min} – {max} m²',
    'req.min': '≥ {min} m²',
    'req.max': '≤ {max} m²',
    'req.share': '≥ {pct}%',
    'req.overlap': '≤ {tol} m²',
    'req.within': '≤ {m} m',
    'req.scored': '仅参与评分（参考 {m} m）',
    'any_level': '全部等级',
    'any_road': '道路',
    'any_facility': '设施',
    'plans.empty': '还没有保存的选址方案。',
    'plans.need_result': '请先搜索，再保存结果。',
    'plans.need_name': '请填写方案名称（不超过 200 字）。',
    'plans.saved': '已保存方案“{name}”。',
    'plans.deleted': '已删除方案“{name}”。',
    'plans.open': '打开',
    'plans.run': '重新计算',
    'plans.delete': '删除',
    'plans.confirm_delete': '确认删除',
    'plans.cancel': '取消',
    'plans.meta': '{date} · {total} 个地块 · 已计算 {runs} 次',
    'plans.opened': '已打开方案“{name}”。',
    'plans.current': '当前方案：{name}',
    'plans.action_label': '{action}方案“{name}”',
    'diff.heading': '与上次计算相比',
    'diff.unchanged': '结果与上次计算完全一致（数据未变化）。',
    'diff.versions': '数据版本：{changes}',
    'diff.version': '{layer} {before} → {after}',
    'diff.none': '无',
    'diff.total': '符合条件的地块：{before} → {after}',
    'diff.added': '新增候选：{items}',
    'diff.removed': '移除候选：{items}',
    'diff.ranks': '排名变化：{items}',
    'diff.modified': '属性变化：{items}',
    'diff.item': '地块 {id}（第 {rank} 名）',
    'diff.rank': '地块 {id}：第 {before} 名 → 第 {after} 名',
    'diff.recommended': '推荐地块：{before} → {after}',
    'error.field': '{field}：{message}',
    'export.headers': '排名,推荐,地块编号,用地用海代码,用地用海名称,行政区,面积（m²）,评分',
    'export.done': '已导出 {file}',
  },
  en: {
    'lock.label': '🔒 Locked by the host system',
    'lock.districts': '🔒 The search scope is locked by the host system to: {names}',
    'scope.none': 'Choose at least one district, or draw an area on the map.',
    'scope.draw_hint': 'Click point by point on the map to draw the area; double-click to finish; Esc cancels.',
    'scope.drawn': 'Area drawn: about {ha} ha.',
    'scope.draw_cancelled': 'Drawing cancelled.',
    'scope.selected': '{n} districts chosen',
    'land_use.any': 'Any land use',
    'controls.any': 'No condition',
    'controls.inside': 'Must lie inside',
    'controls.outside': 'Must lie outside',
    'controls.not_loaded': '(layer not loaded)',
    'proximity.road': 'Near a road',
    'proximity.facility': 'Near a facility',
    'proximity.any_class': 'Any class',
    'proximity.any_type': 'Any type',
    'proximity.within': 'Within (metres)',
    'proximity.required': 'Required (otherwise it only scores)',
    'exclude.none': 'No sensitive-zone layer is loaded.',
    'weights.sum': 'Weights sum to {sum} (must be 1)',
    'weights.sum_ok': 'Weights sum to 1 ✔',
    'search.running': 'Searching…',
    'results.summary': '{total} parcels meet every condition; the best {shown} are listed.',
    'results.none': 'No parcel meets every condition. Relax the area, control or proximity conditions and try again.',
    'results.announce': 'Search done: {total} parcels meet the conditions.',
    'results.initial': 'Set the conditions, then choose “Find parcels”.',
    'candidate.rank': 'Rank {rank}',
    'candidate.recommended': '★ Recommended',
    'candidate.area': '{m2} m² ({ha} ha)',
    'candidate.score': 'Score {score}',
    'candidate.parcel': 'Parcel',
    'candidate.selected': 'Parcel {id} selected (rank {rank})',
    'detail.heading': 'Parcel {id} · rank {rank}',
    'detail.reasons': 'Conditions (measured values)',
    'detail.condition': 'Condition',
    'detail.value': 'Measured',
    'detail.requirement': 'Required',
    'detail.result': 'Result',
    'detail.holds': '✔ holds',
    'detail.fails': '✖ does not hold',
    'detail.criteria': 'Score',
    'detail.criterion': 'Criterion',
    'detail.normalised': 'Score (0–1)',
    'detail.weight': 'Weight',
    'detail.contribution': 'Contribution',
    'detail.unavailable': '(layer not loaded, not scored)',
    'detail.zoom': 'Show on the map',
    'reason.scope_district': 'District',
    'reason.scope_polygon': 'Share inside the drawn area',
    'reason.land_use': 'Land-use class',
    'reason.area': 'Area',
    'reason.control_inside': 'Share inside “{name}”',
    'reason.control_outside': 'Overlap with “{name}”',
    'reason.exclude': 'Overlap with {type} ({level})',
    'reason.proximity_road': 'Distance to {class}',
    'reason.proximity_facility': 'Distance to {type}',
    'req.any': '—',
    'req.prefix': 'in {code} {name}',
    'req.range': '{min} – {max} m²',
    'req.min': '≥ {min} m²',
    'req.max': '≤ {max} m²',
    'req.share': '≥ {pct}%',
    'req.overlap': '≤ {tol} m²',
    'req.within': '≤ {m} m',
    'req.scored': 'scored only (reference {m} m)',
    'any_level': 'all levels',
    'any_road': 'a road',
    'any_facility': 'a facility',
    'plans.empty': 'No siting plan saved yet.',
    'plans.need_result': 'Search first, then save the result.',
    'plans.need_name': 'Give the plan a name (at most 200 characters).',
    'plans.saved': 'Plan “{name}” saved.',
    'plans.deleted': 'Plan “{name}” deleted.',
    'plans.open': 'Open',
    'plans.run': 'Re-run',
    'plans.delete': 'Delete',
    'plans.confirm_delete': 'Confirm delete',
    'plans.cancel': 'Cancel',
    'plans.meta': '{date} · {total} parcels · run {runs} times',
    'plans.opened': 'Plan “{name}” opened.',
    'plans.current': 'Current plan: {name}',
    'plans.action_label': '{action} plan “{name}”',
    'diff.heading': 'Compared with the previous run',
    'diff.unchanged': 'The result is identical to the previous run (the data did not change).',
    'diff.versions': 'Data versions: {changes}',
    'diff.version': '{layer} {before} → {after}',
    'diff.none': 'none',
    'diff.total': 'Parcels meeting the conditions: {before} → {after}',
    'diff.added': 'New candidates: {items}',
    'diff.removed': 'Candidates gone: {items}',
    'diff.ranks': 'Rank changes: {items}',
    'diff.modified': 'Changed attributes: {items}',
    'diff.item': 'parcel {id} (rank {rank})',
    'diff.rank': 'parcel {id}: rank {before} → {after}',
    'diff.recommended': 'Recommended parcel: {before} → {after}',
    'error.field': '{field}: {message}',
    'export.headers': 'Rank,Recommended,Parcel id,Land-use code,Land-use class,District,Area (m²),Score',
    'export.done': '{file} exported',
  },
};

// --- the widget ---------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

let ctx = null;
let options = null;
let map = null;
let state = null;
let result = null;
let lastBody = null;
let selectedId = null;
let currentPlan = null;
let plans = [];
let drawing = false;

function t(key, vars) {
  return ctx.t(key, vars);
}

function lockedLabel() {
  return el('span', 'pf-lock', t('lock.label'));
}

function landUseName(code) {
  const hit = options.land_use_classes.find((c) => c.code === code);
  return hit ? localized(hit.name, ctx.locale) : '';
}

function controlName(kind) {
  const hit = options.controls.find((c) => c.kind === kind);
  return hit ? localized(hit.name, ctx.locale) : kind;
}

function areaText(m2) {
  return t('candidate.area', { m2: formatNumber(ctx.locale, m2, 2), ha: formatNumber(ctx.locale, toHa(m2), 2) });
}

function defaultState() {
  const params = ctx.params || {};
  const locked = ctx.lockedParams || {};
  const controls = {};
  for (const c of options.controls) controls[c.kind] = c.loaded ? DEFAULT_CONTROLS[c.kind] || '' : '';
  const exclude = DEFAULT_EXCLUDE.filter(([type, level]) => (options.sensitive_zones[type] || []).includes(level));
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
      { kind: 'road', enabled: false, value: options.road_classes.includes('provincial') ? 'provincial' : '', withinM: DEFAULT_WITHIN_M, required: true },
      { kind: 'facility', enabled: false, value: '', withinM: DEFAULT_WITHIN_M, required: false },
    ],
    exclude,
    weights: Object.fromEntries(options.criteria.map((c) => [c.name, c.default_weight])),
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
  const shown = locked ? options.districts.filter((d) => locked.has(d.adcode)) : options.districts;
  for (const d of shown) {
    if (filter && !`${d.adcode} ${d.name}`.toLowerCase().includes(filter)) continue;
    const label = el('label', 'pf-district');
    const box = el('input');
    box.type = 'checkbox';
    box.value = d.adcode;
    box.checked = state.districts.has(d.adcode);
    box.disabled = Boolean(locked);
    box.addEventListener('change', () => {
      if (box.checked) state.districts.add(d.adcode);
      else state.districts.delete(d.adcode);
      showDistrictCount();
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
  state.scopeMode = mode;
  for (const radio of document.querySelectorAll('input[name="scope-mode"]')) radio.checked = radio.value === mode;
  $('pf-scope-districts').hidden = mode !== 'districts';
  $('pf-scope-geometry').hidden = mode !== 'geometry';
  if (map) {
    if (mode === 'geometry' && state.geometry) map.setOverlay('scope', { type: 'Feature', geometry: state.geometry, properties: {} }, 'drawing');
    else map.clearOverlay('scope');
  }
}

function renderLandUse() {
  const select = $('pf-land-use');
  select.textContent = '';
  const locked = ctx.lockedParams.land_use;
  const any = el('option', '', t('land_use.any'));
  any.value = '';
  if (!locked) select.append(any);
  for (const c of options.land_use_classes) {
    if (locked && !c.code.startsWith(String(locked))) continue;
    const option = el('option', '', `${'\u3000'.repeat(c.level - 1)}${c.code} ${localized(c.name, ctx.locale)}`);
    option.value = c.code;
    select.append(option);
  }
  select.value = state.landUse || '';
  if (locked) {
    select.value = String(locked);
    select.disabled = true;
    select.after(lockedLabel());
  }
  select.addEventListener('change', () => {
    state.landUse = select.value;
  });
}

function renderControls() {
  const box = $('pf-controls');
  box.textContent = '';
  for (const c of options.controls) {
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
    select.addEventListener('change', () => {
      state.controls[c.kind] = select.value;
    });
    const cell = el('div', 'pf-siting-cell');
    cell.append(label, select);
    box.append(cell);
  }
}

function renderProximity() {
  const box = $('pf-proximity');
  box.textContent = '';
  for (const row of state.proximity) {
    const values = row.kind === 'road' ? options.road_classes : options.facility_types;
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
      row.enabled = enable.checked;
      row.value = select.value;
      row.withinM = within.value;
      row.required = required.checked;
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
  const loaded = options.controls.some((c) => c.kind === 'sensitive_zone' && c.loaded);
  if (!loaded) {
    box.append(el('p', 'pf-siting-hint', t('exclude.none')));
    return;
  }
  for (const [type, levels] of Object.entries(options.sensitive_zones)) {
    const typeName = nameOf(SENSITIVE_ZONE_TYPES, type, ctx.locale);
    for (const level of levels.length ? levels : [null]) {
      const label = el('label', 'pf-check');
      const box2 = el('input');
      box2.type = 'checkbox';
      box2.dataset.type = type;
      box2.dataset.level = level ?? '';
      box2.checked = state.exclude.some(([ty, lv]) => ty === type && (lv ?? null) === level);
      box2.addEventListener('change', () => {
        state.exclude = state.exclude.filter(([ty, lv]) => !(ty === type && (lv ?? null) === level));
        if (box2.checked) state.exclude.push([type, level]);
      });
      label.append(box2, ` ${typeName} · ${level === null ? t('any_level') : levelName(level, ctx.locale)}`);
      box.append(label);
    }
  }
}

function renderWeights() {
  const box = $('pf-weights');
  box.textContent = '';
  for (const c of options.criteria) {
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
      state.weights[c.name] = input.value === '' ? 0 : Number(input.value);
      showWeightSum();
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
    const names = options.districts.filter((d) => ctx.lockedParams.districts.includes(d.adcode)).map((d) => d.name);
    scope.querySelector('legend').after(el('p', 'pf-lock', t('lock.districts', { names: names.join('、') || ctx.lockedParams.districts.join(', ') })));
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
  state.areaMin = $('pf-area-min').value;
  state.areaMax = $('pf-area-max').value;
  if (!ctx.lockedParams.land_use) state.landUse = $('pf-land-use').value;
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
  if (drawing) return;
  drawing = true;
  $('pf-draw-status').textContent = t('scope.draw_hint');
  map.clearOverlay('scope');
  try {
    const geometry = await map.draw('Polygon');
    if (geometry) {
      state.geometry = geometry.geometry || geometry;
      setScopeMode('geometry');
      showDrawnArea();
    } else {
      $('pf-draw-status').textContent = t('scope.draw_cancelled');
    }
  } finally {
    drawing = false;
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

function showProblem(error) {
  clearInvalid();
  const fields = (error.errors || []).filter((e) => e.field);
  for (const e of fields) {
    const input = $(FIELD_INPUTS[e.field] || FIELD_INPUTS[e.field.split('.')[0]] || '');
    if (input) input.setAttribute('aria-invalid', 'true');
  }
  const text = fields.length ? fields.map((e) => t('error.field', { field: e.field, message: e.message })).join('；') : error.detail || error.message;
  ctx.showStatus(text, 'error');
  ctx.announce(text, { assertive: true });
  // 401 and 403 were reported to the host by the runtime already.
  if (error.status !== 401 && error.status !== 403) ctx.emit('error', { code: error.code || 'invalid_siting_request', message: text, status: error.status });
}

async function runSearch() {
  readForm();
  if (state.scopeMode === 'districts' && !state.districts.size) {
    ctx.showStatus(t('scope.none'), 'error');
    $('pf-district-filter').setAttribute('aria-invalid', 'true');
    return null;
  }
  if (state.scopeMode === 'geometry' && !state.geometry) {
    ctx.showStatus(t('scope.none'), 'error');
    return null;
  }
  clearInvalid();
  const body = requestBody(state);
  ctx.showStatus(t('search.running'));
  $('pf-search').disabled = true;
  try {
    const found = await ctx.api('siting/search', { method: 'POST', body });
    ctx.clearStatus();
    lastBody = body;
    currentPlan = null;
    showResult(found, null);
    ctx.announce(t('results.announce', { total: found.total }));
    return found;
  } catch (error) {
    if (error.status && error.status < 500) showProblem(error);
    throw error;
  } finally {
    $('pf-search').disabled = false;
  }
}

function mapGeometry(c) {
  return c.geometry_4490 || c.geometry;
}

function showResult(found, diff) {
  result = found;
  selectedId = null;
  for (const id of ['pf-plan-save-button', 'pf-export-csv', 'pf-export-geojson', 'pf-print']) $(id).disabled = false;
  const list = $('pf-candidates');
  list.textContent = '';
  $('pf-candidate-detail').hidden = true;
  const summary = $('pf-results-summary');
  summary.textContent = found.total ? t('results.summary', { total: found.total, shown: found.candidates.length }) : t('results.none');
  renderDiff(diff);
  for (const c of found.candidates) list.append(candidateItem(c));
  if (map) {
    const fc = {
      type: 'FeatureCollection',
      features: found.candidates.map((c) => ({ type: 'Feature', id: String(c.feature_id), geometry: mapGeometry(c), properties: { rank: String(c.rank), feature_id: c.feature_id, area_m2: c.area_m2, land_use: c.land_use } })),
    };
    map.setOverlay('candidates', fc, 'candidate');
    if (found.candidates.length) map.fitTo('candidates');
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
    map && map.highlight('candidates', c.feature_id);
  };
  const leave = () => {
    li.classList.remove('pf-hover');
    map && map.highlight(selectedId !== null ? 'candidates' : null, selectedId);
  };
  button.addEventListener('mouseenter', hover);
  button.addEventListener('focus', hover);
  button.addEventListener('mouseleave', leave);
  button.addEventListener('blur', leave);
  li.append(button);
  return li;
}

function selectCandidate(fid, { zoom = false, fromMap = false } = {}) {
  const c = result && result.candidates.find((x) => String(x.feature_id) === String(fid));
  if (!c) return null;
  selectedId = c.feature_id;
  for (const item of document.querySelectorAll('.pf-candidate-item')) {
    const on = item.dataset.fid === String(c.feature_id);
    item.classList.toggle('pf-selected', on);
    item.querySelector('button').setAttribute('aria-pressed', on ? 'true' : 'false');
    if (on && fromMap) {
      item.scrollIntoView({ block: 'nearest' });
      item.querySelector('button').focus({ preventScroll: true });
    }
  }
  if (map) {
    map.highlight('candidates', c.feature_id);
    // Zoomed to the parcel with its surroundings, not filling the frame.
    if (zoom) map.fitTo({ overlay: 'candidates', id: c.feature_id }, { maxZoom: 16, padding: 60 });
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
    crs: result.crs,
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
  zoom.addEventListener('click', () => map && map.fitTo({ overlay: 'candidates', id: c.feature_id }, { maxZoom: 16, padding: 60 }));
  box.append(heading, zoom);
  box.append(table(t('detail.reasons'), [t('detail.condition'), t('detail.value'), t('detail.requirement'), t('detail.result')], c.reasons.map(reasonRow), 'pf-siting-table'));
  const labels = Object.fromEntries(options.criteria.map((x) => [x.name, localized(x.label, ctx.locale)]));
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
  return `siting-${currentPlan ? `plan-${currentPlan.id}` : 'search'}-${stamp}.${ext}`;
}

function exportCsv() {
  if (!result) return;
  // Each condition's column is headed by its label in the reasons table (its first cell).
  const label = (r) => reasonRow(r).querySelector('th').textContent;
  const csv = candidatesCsv(result.candidates, { headers: t('export.headers').split(','), label, recommendedText: t('candidate.recommended') });
  download(BOM + csv, 'text/csv;charset=utf-8', exportName('csv'));
}

function exportGeoJSON() {
  if (!result) return;
  // RFC 7946 GeoJSON is longitude/latitude: always the EPSG:4490 geometry.
  const fc = {
    type: 'FeatureCollection',
    features: result.candidates.map((c) => ({
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
  plans = response.plans || [];
  renderPlans();
}

function renderPlans() {
  const list = $('pf-plan-list');
  list.textContent = '';
  if (!plans.length) {
    list.append(el('li', 'pf-plan-empty', t('plans.empty')));
    return;
  }
  for (const plan of plans) {
    const li = el('li', 'pf-plan');
    li.dataset.plan = String(plan.id);
    if (currentPlan && currentPlan.id === plan.id) li.classList.add('pf-current');
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
    actions.append(button('plans.open', () => openPlan(plan.id)), button('plans.run', () => rerunPlan(plan.id)), remove, confirm, cancel);
    li.append(name, meta, actions);
    list.append(li);
  }
}

function applyPlan(plan) {
  currentPlan = plan;
  state = stateFromRequest({ scope: plan.scope, ...plan.conditions, weights: plan.weights, limit: plan.limit }, defaultState());
  renderForm();
  lastBody = requestBody(state);
  showResult(plan.result, plan.diff);
  const summary = $('pf-results-summary');
  summary.textContent = `${t('plans.current', { name: plan.name })} · ${summary.textContent}`;
  renderPlans();
}

async function openPlan(id) {
  try {
    const plan = await ctx.api(`siting/plans/${encodeURIComponent(id)}`);
    applyPlan(plan);
    ctx.announce(t('plans.opened', { name: plan.name }));
    return plan;
  } catch (error) {
    if (error.status && error.status < 500) showProblem(error);
    throw error;
  }
}

async function rerunPlan(id) {
  try {
    const plan = await ctx.api(`siting/plans/${encodeURIComponent(id)}/run`, { method: 'POST' });
    applyPlan(plan);
    await loadPlans();
    ctx.announce(plan.diff && plan.diff.changed ? t('diff.heading') : t('diff.unchanged'));
    return plan;
  } catch (error) {
    if (error.status && error.status < 500) showProblem(error);
    throw error;
  }
}

async function deletePlan(plan) {
  try {
    await ctx.api(`siting/plans/${encodeURIComponent(plan.id)}`, { method: 'DELETE' });
    if (currentPlan && currentPlan.id === plan.id) currentPlan = null;
    ctx.emit('plan-deleted', { id: plan.id });
    ctx.announce(t('plans.deleted', { name: plan.name }));
    await loadPlans();
    $('pf-plan-name').focus();
  } catch (error) {
    if (error.status && error.status < 500) showProblem(error);
  }
}

async function savePlan(event) {
  event.preventDefault();
  const nameInput = $('pf-plan-name');
  const name = nameInput.value.trim();
  if (!lastBody) {
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
    const plan = await ctx.api('siting/plans', { method: 'POST', body: { name, ...lastBody } });
    currentPlan = plan;
    nameInput.value = '';
    ctx.clearStatus();
    ctx.emit('plan-saved', { id: plan.id, name: plan.name, total: plan.total });
    ctx.announce(t('plans.saved', { name: plan.name }));
    await loadPlans();
  } catch (error) {
    if (error.status && error.status < 500) showProblem(error);
  }
}

// --- map ------------------------------------------------------------------------------------

async function createSitingMap() {
  let catalogue = [];
  try {
    catalogue = (await ctx.api('layers')).layers || [];
  } catch {
    catalogue = [];
  }
  const layers = catalogue.map((l) => ({ ...l, visible: Boolean(CONTEXT_KINDS[l.kind]) }));
  map = createWidgetMap(ctx, $('pf-map'), { layers, identify: false });
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
    map.highlight(hit !== null ? 'candidates' : selectedId !== null ? 'candidates' : null, hit !== null ? hit : selectedId);
    ol.getTargetElement().style.cursor = hit !== null ? 'pointer' : '';
  });
}

// --- start ----------------------------------------------------------------------------------

startWidget({
  name: 'siting',
  messages,
  async init(widgetCtx) {
    ctx = widgetCtx;
    options = await ctx.api('siting/options');
    state = defaultState();
    renderLandUse();
    renderForm();
    $('pf-results-summary').textContent = t('results.initial');
    for (const radio of document.querySelectorAll('input[name="scope-mode"]')) {
      radio.addEventListener('change', () => radio.checked && setScopeMode(radio.value));
    }
    $('pf-district-filter').addEventListener('input', renderDistricts);
    $('pf-draw').addEventListener('click', () => drawScope());
    $('pf-draw-clear').addEventListener('click', () => {
      state.geometry = null;
      map && map.clearOverlay('scope');
      showDrawnArea();
    });
    $('pf-weights-reset').addEventListener('click', () => {
      state.weights = Object.fromEntries(options.criteria.map((c) => [c.name, c.default_weight]));
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
    await createSitingMap();
    await loadPlans();
    if (ctx.params.plan) await openPlan(ctx.params.plan).catch(() => {});
  },
  commands: {
    async search({ conditions = {} } = {}) {
      if (typeof conditions !== 'object' || conditions === null) throw invalidPayload('conditions must be an object');
      state = stateFromRequest(conditions, state);
      renderForm();
      if (!ctx.lockedParams.land_use) $('pf-land-use').value = state.landUse || '';
      const found = await runSearch();
      if (!found) throw Object.assign(new Error(t('scope.none')), { code: 'invalid_siting_request' });
      return { total: found.total, recommended: found.candidates.length ? found.candidates[0].feature_id : null };
    },
    async 'open-plan'({ id } = {}) {
      const plan = await openPlan(positiveInteger(id));
      return { id: plan.id, name: plan.name, total: plan.total };
    },
  },
});
