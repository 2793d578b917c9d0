// The siting widget's form model: the request it sends, the form state a request (or a saved
// plan) restores, and small naming helpers. No DOM here: tested with vitest (model.test.js).
import { csvText } from '../common/export.js';
import { formatNumber, localized } from '../common/format.js';

/** Sensitive-zone level names as DOMAIN.md and the demo data use them. */
export const LEVEL_NAMES = {
  high: { 'zh-CN': '高', en: 'high' },
  medium: { 'zh-CN': '中', en: 'medium' },
  low: { 'zh-CN': '低', en: 'low' },
  1: { 'zh-CN': '一级', en: 'level 1' },
  2: { 'zh-CN': '二级', en: 'level 2' },
  protection: { 'zh-CN': '保护范围', en: 'protection range' },
  control: { 'zh-CN': '建设控制地带', en: 'control zone' },
};

/** A text of `lookup` ({code, 'zh-CN', en} entries) for `code`, else the code itself. */
export function nameOf(table, code, locale) {
  const hit = table.find((e) => e.code === code);
  return hit ? localized(hit, locale) : code;
}

/** The level name of a sensitive zone (高 / 一级 / 保护范围 …), else the level itself. */
export function levelName(level, locale) {
  const hit = LEVEL_NAMES[level];
  return hit ? hit[locale] : String(level);
}

/** Sum of the weights, rounded to 6 decimals (the server refuses a sum other than 1). */
export function weightSum(weights) {
  return Math.round(Object.values(weights).reduce((a, b) => a + (Number(b) || 0), 0) * 1e6) / 1e6;
}

/**
 * The search request for the form state `s`: scope, land_use, area range, controls,
 * proximity, exclude, weights, limit, output_crs — exactly what POST /siting/search takes.
 */
export function requestBody(s) {
  const body = {};
  if (s.scopeMode === 'geometry' && s.geometry) body.scope = { geometry: s.geometry, crs: 'EPSG:4490' };
  else body.scope = { districts: [...s.districts].sort() };
  if (s.landUse) body.land_use = s.landUse;
  if (s.areaMin !== null && s.areaMin !== '' && s.areaMin !== undefined) body.area_min_m2 = Number(s.areaMin);
  if (s.areaMax !== null && s.areaMax !== '' && s.areaMax !== undefined) body.area_max_m2 = Number(s.areaMax);
  body.controls = Object.entries(s.controls)
    .filter(([, mode]) => mode === 'inside' || mode === 'outside')
    .map(([kind, mode]) => ({ kind, mode }));
  body.proximity = s.proximity
    .filter((p) => p.enabled)
    .map((p) => {
      const item = { kind: p.kind };
      if (p.value) item[p.kind === 'road' ? 'class' : 'type'] = p.value;
      if (p.withinM !== '' && p.withinM !== null && p.withinM !== undefined) item.within_m = Number(p.withinM);
      item.required = Boolean(p.required && item.within_m !== undefined);
      return item;
    });
  body.exclude = s.exclude.map(([type, level]) => (level ? { kind: 'sensitive_zone', type, level } : { kind: 'sensitive_zone', type }));
  body.weights = { ...s.weights };
  if (s.limit) body.limit = s.limit;
  if (s.outputCrs) body.output_crs = s.outputCrs;
  return body;
}

/** The form state that reproduces a search request (for opening plans and the `search` command). */
export function stateFromRequest(body, base) {
  const s = { ...base, controls: { ...base.controls }, proximity: base.proximity.map((p) => ({ ...p })), weights: { ...base.weights } };
  if (body.scope) {
    if (body.scope.geometry) {
      s.scopeMode = 'geometry';
      s.geometry = body.scope.geometry;
    } else if (Array.isArray(body.scope.districts)) {
      s.scopeMode = 'districts';
      s.districts = new Set(body.scope.districts);
    }
  }
  if ('land_use' in body) s.landUse = body.land_use || '';
  if ('area_min_m2' in body) s.areaMin = body.area_min_m2 ?? '';
  if ('area_max_m2' in body) s.areaMax = body.area_max_m2 ?? '';
  if (Array.isArray(body.controls)) {
    for (const kind of Object.keys(s.controls)) s.controls[kind] = '';
    for (const c of body.controls) s.controls[c.kind] = c.mode;
  }
  if (Array.isArray(body.proximity)) {
    for (const p of s.proximity) p.enabled = false;
    for (const item of body.proximity) {
      const row = s.proximity.find((p) => p.kind === item.kind);
      if (!row) continue;
      row.enabled = true;
      row.value = item.class || item.type || '';
      row.withinM = item.within_m ?? '';
      row.required = item.required ?? item.within_m !== undefined;
    }
  }
  if (Array.isArray(body.exclude)) s.exclude = body.exclude.map((e) => [e.type, e.level ?? null]);
  if (body.weights) s.weights = { ...body.weights };
  if (body.limit) s.limit = body.limit;
  return s;
}

/** The requested area range as text (8,000 – 60,000 m²). */
export function rangeText(t, locale, min, max) {
  const f = (v) => formatNumber(locale, v, 0);
  if (min !== null && min !== undefined && max !== null && max !== undefined) return t('req.range', { min: f(min), max: f(max) });
  if (min !== null && min !== undefined) return t('req.min', { min: f(min) });
  if (max !== null && max !== undefined) return t('req.max', { max: f(max) });
  return t('req.any');
}


/** The candidates as CSV rows (header first): rank, recommended, id, class, district,
 *  area, score, then each condition's measured value under `label(reason)`. */
export function candidatesCsv(candidates, { headers, label, recommendedText }) {
  const conditionLabels = candidates.length ? candidates[0].reasons.map(label) : [];
  const rows = [[...headers, ...conditionLabels]];
  for (const c of candidates) {
    rows.push([
      c.rank,
      c.recommended ? recommendedText : '',
      c.feature_id,
      c.land_use,
      c.land_use_name ? c.land_use_name['zh-CN'] : '',
      c.district_name || c.district || '',
      c.area_m2,
      c.score,
      ...c.reasons.map((r) => (r.value === null || r.value === undefined ? '' : r.value)),
    ]);
  }
  return csvText(rows);
}
