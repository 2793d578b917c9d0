// The monitor widget's pure logic (no DOM): status colours and symbols, values in their
// units, the series chart's scales and paths, the map's district and change features, the
// event payloads and the exports. Tested in model.test.js.
import { numberFormat } from '../common/i18n.js';

/** Every status a value may have (server/services/plan_monitoring/status.py). */
export const STATUSES = ['normal', 'warning', 'exceeded', 'below_target', 'no_target', 'no_data'];

/** The statuses that are warnings (预警): pushed to subscribers, listed first. */
export const ALERT_STATUSES = ['warning', 'exceeded', 'below_target'];

/** Status → symbol, so a status never rests on colour alone. */
export const STATUS_ICONS = { normal: '✔', warning: '⚠', exceeded: '✖', below_target: '▼', no_target: '○', no_data: '—' };

/**
 * Status → colours: `fill` shades a district (translucent), `stroke` its outline and the
 * card's edge, `background`/`text` a card or badge (contrast ≥ 4.5:1), `hatch` the pattern
 * over a district (a second cue besides colour).
 */
export const STATUS_COLOURS = {
  normal: { stroke: '#1b5e20', fill: 'rgba(46,125,50,0.30)', background: '#e8f5e9', text: '#1b5e20', hatch: null },
  warning: { stroke: '#8a5300', fill: 'rgba(255,179,0,0.45)', background: '#fff4e0', text: '#7a4f00', hatch: 'diagonal' },
  exceeded: { stroke: '#b71c1c', fill: 'rgba(211,47,47,0.50)', background: '#fdecea', text: '#b71c1c', hatch: 'cross' },
  below_target: { stroke: '#6a1b9a', fill: 'rgba(142,36,170,0.45)', background: '#f3e5f5', text: '#6a1b9a', hatch: 'horizontal' },
  no_target: { stroke: '#616161', fill: 'rgba(158,158,158,0.20)', background: '#f5f5f5', text: '#424242', hatch: null },
  no_data: { stroke: '#616161', fill: 'rgba(255,255,255,0.10)', background: '#fafafa', text: '#424242', hatch: null },
};

/** The colours of `status` (unknown statuses as `no_data`). */
export function statusColour(status) {
  return STATUS_COLOURS[status] || STATUS_COLOURS.no_data;
}

/** The map style of a district shaded by its `status` property. */
export function districtStyle(props = {}) {
  const c = statusColour(props.status);
  return { stroke: c.stroke, width: 1.5, fill: c.fill, hatch: c.hatch, label: 'name' };
}

/** The map style of a change piece: a warning (`on` set) red, the rest blue. */
export function changeStyle(props = {}) {
  return props.on ? { stroke: '#b71c1c', width: 2, fill: 'rgba(211,47,47,0.35)' } : { stroke: '#0b5cad', width: 2, fill: 'rgba(11,92,173,0.25)' };
}

/** How each unit reads after a value (areas, a ratio, a count). */
const UNIT_TEXT = {
  m2: { 'zh-CN': 'm²', en: 'm²' },
  ha: { 'zh-CN': '公顷', en: 'ha' },
  km2: { 'zh-CN': 'km²', en: 'km²' },
  mu: { 'zh-CN': '亩', en: 'mu' },
  percent: { 'zh-CN': '%', en: '%' },
  count: { 'zh-CN': '个', en: '' },
};

/** Decimals a unit's values are shown with. */
const UNIT_DIGITS = { m2: 0, ha: 2, km2: 2, mu: 0, percent: 2, count: 0 };

/** The unit's text in `locale` (the unit itself when unknown). */
export function unitText(unit, locale) {
  const entry = UNIT_TEXT[unit];
  return entry ? entry[locale] ?? entry['zh-CN'] : String(unit || '');
}

/** A value with its unit the locale's way, e.g. "708,848,652 m²"; '—' without a value. */
export function valueText(value, unit, locale) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return '—';
  const digits = UNIT_DIGITS[unit] ?? 2;
  const number = numberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(Number(value));
  const suffix = unitText(unit, locale);
  if (!suffix) return number;
  return unit === 'percent' ? `${number}${suffix}` : `${number} ${suffix}`;
}

/** A chart axis label: short, the locale's way (750,000,000 → "7.5亿" / "750M"). */
export function axisText(value, locale) {
  if (!Number.isFinite(value)) return '';
  return numberFormat(locale, { notation: 'compact', maximumFractionDigits: 2 }).format(value);
}

/** value / target as a share of the target, e.g. 0.95 → "95.0%"; '—' without one. */
export function ratioText(ratio, locale) {
  if (ratio === null || ratio === undefined || !Number.isFinite(Number(ratio))) return '—';
  return numberFormat(locale, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(Number(ratio));
}

/** A year from a host's payload (number or digits), or null. */
export function parseYear(value) {
  const n = typeof value === 'string' && /^\s*\d{4}\s*$/.test(value) ? Number(value) : value;
  return Number.isInteger(n) && n >= 1900 && n <= 2200 ? n : null;
}

/** An indicator id from a host's payload, or null. */
export function parseIndicatorId(value) {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value.trim()) ? value.trim() : null;
}

/** The year to show: `wanted` if it is a monitoring year, else the latest one (null: none). */
export function pickYear(years, wanted) {
  if (!years || !years.length) return null;
  return years.includes(wanted) ? wanted : years[years.length - 1];
}

/** The indicator to show: `wanted` if listed, else the first (null: none). */
export function pickIndicator(indicators, wanted) {
  if (!indicators || !indicators.length) return null;
  return (indicators.find((i) => i.id === wanted) || indicators[0]).id;
}

/** The query of one indicator's values for `area` ('city', an adcode, or 'districts': every district). */
export function valuesQuery(indicator, year, area) {
  if (area === 'districts') return { indicator, year, by: 'district' };
  if (area === 'city') return { indicator, year, by: 'city' };
  return { indicator, year, district: area };
}

/** The query of several indicators' values (the cards) for `year` and `area` in one call. */
export function cardsQuery(indicatorIds, year, area) {
  const { indicator: _one, ...rest } = valuesQuery(null, year, area);
  return { indicators: indicatorIds.join(','), ...rest };
}

/** The query of the series between the first and last monitoring years for `area`. */
export function seriesQuery(indicator, years, area) {
  const query = { indicator, from: years[0], to: years[years.length - 1] };
  if (area === 'city') query.by = 'city';
  else query.district = area;
  return query;
}

/** The status counts of rows: {normal: n, warning: n, …} over every status. */
export function statusCounts(rows) {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const row of rows) counts[STATUSES.includes(row.status) ? row.status : 'no_data'] += 1;
  return counts;
}

// --- the series chart -----------------------------------------------------------------------

/** About `count` round tick values spanning [min, max] (1, 2 or 5 × 10ⁿ apart). */
export function niceTicks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    return niceTicks(min - pad, max + pad, count);
  }
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const first = Math.floor(min / step) * step;
  const ticks = [];
  for (let v = first; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

/** A linear scale from [d0, d1] to [r0, r1] (a flat domain maps to the middle). */
export function linearScale([d0, d1], [r0, r1]) {
  const span = d1 - d0;
  return (v) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0));
}

/**
 * The series chart of one area: x by year, y by value, with the target of each year as a
 * stepped line. `points`: [{year, value, target, status}], sorted by year. Returns the
 * plotted points {x, y, year, value, status}, the value path `line`, the target path
 * `targetLine` ('' without targets), the y `ticks` [{value, y}], the x `labels`
 * [{year, x}] and the plot box.
 */
export function chartModel(points, { width = 480, height = 240, pad = { top: 16, right: 16, bottom: 28, left: 72 } } = {}) {
  const box = { left: pad.left, right: width - pad.right, top: pad.top, bottom: height - pad.bottom };
  const withValue = points.filter((p) => Number.isFinite(p.value));
  const numbers = [...withValue.map((p) => p.value), ...points.filter((p) => Number.isFinite(p.target)).map((p) => p.target)];
  if (!points.length || !numbers.length) return { points: [], line: '', targetLine: '', ticks: [], labels: [], box, width, height };
  const ticks = niceTicks(Math.min(...numbers), Math.max(...numbers), 4);
  const y = linearScale([ticks[0], ticks[ticks.length - 1]], [box.bottom, box.top]);
  const years = points.map((p) => p.year);
  const x = linearScale([Math.min(...years), Math.max(...years)], [box.left, box.right]);
  const r = (n) => Math.round(n * 10) / 10;
  const plotted = withValue.map((p) => ({ x: r(x(p.year)), y: r(y(p.value)), year: p.year, value: p.value, status: p.status }));
  const line = plotted.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' ');
  // The target as steps: level from one point to the next, as each year is held to it.
  const segments = [];
  const targeted = points.filter((p) => Number.isFinite(p.target));
  targeted.forEach((p, i) => {
    const x0 = i === 0 && targeted.length === 1 ? box.left : x(p.year);
    const next = targeted[i + 1];
    const x1 = next ? x(next.year) : targeted.length === 1 ? box.right : x(p.year);
    const yy = r(y(p.target));
    segments.push(`${segments.length ? 'L' : 'M'}${r(x0)},${yy} L${r(x1)},${yy}`);
  });
  return {
    points: plotted,
    line,
    targetLine: segments.join(' '),
    ticks: ticks.map((value) => ({ value, y: r(y(value)) })),
    labels: points.map((p) => ({ year: p.year, x: r(x(p.year)) })),
    box,
    width,
    height,
  };
}

// --- the map ----------------------------------------------------------------------------------

/** Value rows by area code. */
export function rowsByArea(rows) {
  return new Map((rows || []).map((row) => [String(row.area), row]));
}

/** The adcode of a district feature (its `adcode`, `district` or `code` property). */
export function featureAdcode(feature) {
  const p = feature.properties || {};
  return String(p.adcode ?? p.district ?? p.code ?? '');
}

/**
 * `collection` with the districts of `detail` (the same layer read at finer detail) in
 * place of its own: a feature whose adcode `detail` holds is replaced, the rest kept.
 */
export function withDetail(collection, detail) {
  const finer = new Map();
  for (const feature of (detail && detail.features) || []) {
    const adcode = featureAdcode(feature);
    if (adcode) finer.set(adcode, feature);
  }
  if (!collection) return detail || null;
  const features = collection.features.map((feature) => finer.get(featureAdcode(feature)) || feature);
  return { ...collection, features };
}

/**
 * The district features (the district layer's GeoJSON) shaded by the status of their row,
 * each with id `district:<adcode>` and properties adcode, name, status, value, ratio;
 * only `only` (an adcode) when given, and only districts that have a row.
 */
export function districtFeatures(collection, rows, only = null) {
  const byArea = rowsByArea(rows);
  const features = [];
  for (const feature of (collection && collection.features) || []) {
    const adcode = featureAdcode(feature);
    if (!adcode || (only && adcode !== only)) continue;
    const row = byArea.get(adcode);
    if (!row) continue;
    features.push({
      type: 'Feature',
      id: `district:${adcode}`,
      geometry: feature.geometry,
      properties: { adcode, name: row.name || (feature.properties || {}).name || adcode, status: row.status, value: row.value, target: row.target, ratio: row.ratio },
    });
  }
  return { type: 'FeatureCollection', features };
}

/** The change pieces as map features, id `change:<id>` (pieces without geometry left out). */
export function changeFeatures(changes) {
  return {
    type: 'FeatureCollection',
    features: (changes || [])
      .filter((c) => c.geometry)
      .map((c) => ({ type: 'Feature', id: `change:${c.id}`, geometry: c.geometry, properties: { change: c.id, type: c.type, on: c.on, district: c.district, area_m2: c.area_m2 } })),
  };
}

/** What a map feature id names: {kind: 'district'|'change', id} or null. */
export function parseFeatureId(id) {
  const text = String(id ?? '');
  const cut = text.indexOf(':');
  if (cut < 0) return null;
  const kind = text.slice(0, cut);
  return kind === 'district' || kind === 'change' ? { kind, id: text.slice(cut + 1) } : null;
}

// --- events ---------------------------------------------------------------------------------

/** The `indicator-selected` payload (and the `show-indicator` result). */
export function indicatorEvent(indicator, row, { year, area, locale }) {
  const name = indicator.name ? indicator.name[locale] || indicator.name['zh-CN'] || indicator.id : indicator.id;
  return {
    id: indicator.id,
    name,
    year,
    area,
    value: row ? row.value ?? null : null,
    target: row ? row.target ?? null : null,
    ratio: row ? row.ratio ?? null : null,
    status: row ? row.status : 'no_data',
  };
}

/** The `change-selected` payload. */
export function changeEvent(change, year) {
  return { id: change.id, year, type: change.type, on: change.on ?? null, district: change.district, area_m2: change.area_m2, from_code: change.from_code, to_code: change.to_code };
}

// --- export ---------------------------------------------------------------------------------

/** One indicator's values (districts, then the city when known) as CSV rows, header first. */
export function valuesCsvRows(indicator, year, rows, t) {
  const out = [[t('csv.indicator'), t('csv.year'), t('csv.area'), t('csv.name'), t('csv.value'), t('csv.unit'), t('csv.target'), t('csv.target_year'), t('csv.ratio'), t('csv.status')]];
  for (const row of rows) {
    out.push([indicator.id, year, row.area, row.name, row.value ?? '', row.unit || indicator.unit, row.target ?? '', row.target_year ?? '', row.ratio ?? '', row.status]);
  }
  return out;
}

/** The change pieces as CSV rows, header first. */
export function changesCsvRows(changes, year, t) {
  const out = [[t('csv.id'), t('csv.year'), t('csv.type'), t('csv.on'), t('csv.district'), t('csv.area_m2'), t('csv.from_code'), t('csv.to_code')]];
  for (const c of changes) out.push([c.id, year, c.type, c.on ?? '', c.district, c.area_m2, c.from_code, c.to_code]);
  return out;
}

/** The change pieces as a GeoJSON FeatureCollection (EPSG:4490 lon/lat) to save. */
export function changesGeoJSON(changes, year) {
  return {
    type: 'FeatureCollection',
    features: (changes || []).map((c) => ({
      type: 'Feature',
      id: c.id,
      geometry: c.geometry || null,
      properties: { year, type: c.type, on: c.on ?? null, district: c.district, area_m2: c.area_m2, from_code: c.from_code, to_code: c.to_code, layer: c.layer, feature_id: c.feature_id },
    })),
  };
}

/** The districts shaded on the map, with the indicator's figures, as GeoJSON to save. */
export function valuesGeoJSON(features, indicator, year) {
  return {
    type: 'FeatureCollection',
    features: features.features.map((f) => ({
      type: 'Feature',
      id: f.properties.adcode,
      geometry: f.geometry,
      properties: { indicator: indicator.id, unit: indicator.unit, year, ...f.properties },
    })),
  };
}
