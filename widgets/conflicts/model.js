// The conflict viewer's pure half: filters ↔ query strings, status symbols and transitions,
// job progress texts, ledger tables and chart geometry. No DOM; unit-tested with vitest.
import { invalidPayload } from '../common/commands.js';

/** Statuses with a symbol each: a status is never told by colour alone. */
export const STATUS_SYMBOLS = { pending: '○', coordinating: '◐', adjusted: '✔', kept: '■' };
/** pending → coordinating → adjusted | kept (server/services/conflicts/analyses.py, TRANSITIONS). */
export const TRANSITIONS = { pending: ['coordinating'], coordinating: ['adjusted', 'kept'], adjusted: [], kept: [] };
export const FINAL_JOB_STATES = ['done', 'failed', 'cancelled'];
/** 1 亩 = 10000/15 m². */

export const FILTER_KEYS = ['analysis', 'type', 'district', 'status', 'min_area', 'sliver'];

/** An empty filter set (every key present). */
export function emptyFilters() {
  return { analysis: '', type: '', district: '', status: '', min_area: '', sliver: false };
}

/**
 * Filters from a `filter` command payload or the widget params: unknown keys are refused
 * (a typo must not be ignored), values are checked against the known choices.
 * `choices`: {analyses: {name: [type codes]}, statuses: [...], districts: [...]}.
 */
export function parseFilters(payload, choices) {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw invalidPayload('the filter payload must be an object');
  const unknown = Object.keys(payload).filter((k) => !FILTER_KEYS.includes(k));
  if (unknown.length) throw invalidPayload(`unknown filter ${unknown.join(', ')}; expected ${FILTER_KEYS.join(', ')}`);
  const out = emptyFilters();
  const text = (name) => {
    const v = payload[name];
    if (v === undefined || v === null || v === '') return '';
    if (typeof v !== 'string') throw invalidPayload(`${name} must be a string`);
    return v;
  };
  out.analysis = text('analysis');
  if (out.analysis && !(out.analysis in choices.analyses)) throw invalidPayload(`unknown analysis ${out.analysis}`);
  out.type = text('type');
  if (out.type) {
    const types = out.analysis ? choices.analyses[out.analysis] : Object.values(choices.analyses).flat();
    if (!types.includes(out.type)) throw invalidPayload(`unknown conflict type ${out.type}`);
  }
  out.district = text('district');
  if (out.district && choices.districts && !choices.districts.includes(out.district)) throw invalidPayload(`unknown district ${out.district}`);
  out.status = text('status');
  if (out.status && !choices.statuses.includes(out.status)) throw invalidPayload(`unknown status ${out.status}`);
  const area = payload.min_area;
  if (area !== undefined && area !== null && area !== '') {
    const n = Number(area);
    if (!Number.isFinite(n) || n < 0) throw invalidPayload('min_area must be a number ≥ 0 (m²)');
    out.min_area = String(n);
  }
  if (payload.sliver !== undefined && typeof payload.sliver !== 'boolean') throw invalidPayload('sliver must be true or false');
  out.sliver = Boolean(payload.sliver);
  return out;
}

/** The `GET /conflicts` query for filters and a page (empty filters left out). */
export function listQuery(filters, { limit = 50, offset = 0, locale } = {}) {
  const q = {};
  for (const key of ['analysis', 'type', 'district', 'status']) if (filters[key]) q[key] = filters[key];
  if (filters.min_area !== '' && filters.min_area !== undefined && filters.min_area !== null) q.min_area = String(filters.min_area);
  if (filters.sliver) q.sliver = 'true';
  q.limit = String(limit);
  if (offset) q.offset = String(offset);
  if (locale) q.locale = locale;
  return q;
}

/** Which statuses a patch may move to now (none when obsolete). */
export function nextStatuses(conflict) {
  if (!conflict || conflict.current === false) return [];
  return TRANSITIONS[conflict.status] || [];
}

/** The PATCH body of the status form: status with its required companions, or a note. */
export function changeBody(form) {
  const body = {};
  const put = (key, value) => {
    const v = typeof value === 'string' ? value.trim() : value;
    if (v) body[key] = v;
  };
  put('status', form.status);
  put('note', form.note);
  put('district_opinion', form.district_opinion);
  put('municipal_opinion', form.municipal_opinion);
  put('effective_date', form.effective_date);
  if (form.status === 'adjusted') put('plan_changed', form.plan_changed);
  if (form.status === 'kept') put('reason', form.reason);
  return body;
}

/** What the status form lacks before it can be sent: field names. */
export function missingFields(body) {
  const missing = [];
  if (!body.status && !body.note && !body.district_opinion && !body.municipal_opinion) missing.push('note');
  if (body.status && !body.note) missing.push('note');
  if (body.status === 'adjusted' && !body.plan_changed) missing.push('plan_changed');
  if (body.status === 'kept' && !body.reason) missing.push('reason');
  return missing;
}

/** "45%" for a job's progress (0–1), never above 100 or below 0. */
export function percent(progress) {
  const p = Math.max(0, Math.min(1, Number(progress) || 0));
  return `${Math.floor(p * 100)}%`;
}

/** Page text numbers: first and last position shown (1-based) and the total. */
export function pageRange(offset, count, total) {
  if (!total || !count) return { from: 0, to: 0, total: total || 0 };
  return { from: offset + 1, to: offset + count, total };
}

/** A FeatureCollection of a page of conflicts for the map (ids as strings). */
export function conflictFeatures(conflicts) {
  return {
    type: 'FeatureCollection',
    features: conflicts
      .filter((c) => c.geometry)
      .map((c) => ({ type: 'Feature', id: String(c.id), geometry: c.geometry, properties: { id: c.id, type: c.type, status: c.status, area_m2: c.area_m2 } })),
  };
}

/**
 * The by-district ledger as table rows in print order: each district's rows, then its
 * subtotal; then the class totals and the grand total. `kind`: row | subtotal | total.
 */
export function ledgerTable(ledger) {
  const out = [];
  if (ledger.by === 'city') {
    for (const r of ledger.rows) out.push({ kind: 'row', ...r });
    if (ledger.total) out.push({ kind: 'total', ...ledger.total });
    return out;
  }
  const byDistrict = new Map();
  for (const r of ledger.rows) {
    const key = r.district ?? '';
    if (!byDistrict.has(key)) byDistrict.set(key, []);
    byDistrict.get(key).push(r);
  }
  if (ledger.subtotals) {
    for (const s of ledger.subtotals) {
      for (const r of byDistrict.get(s.district ?? '') || []) out.push({ kind: 'row', ...r });
      out.push({ kind: 'subtotal', ...s });
    }
  } else {
    for (const rows of byDistrict.values()) for (const r of rows) out.push({ kind: 'row', ...r });
  }
  for (const g of ledger.group_totals || []) out.push({ kind: 'group_total', ...g });
  if (ledger.total) out.push({ kind: 'total', ...ledger.total });
  return out;
}

/**
 * Bars of the ledger chart: by district, each district's area (its subtotal, or for a
 * ledger without subtotals the chosen group's row); city-wide, each group's area.
 * Returns [{key, label, value}] with value in ha, largest first, zeros left out.
 */
export function chartBars(ledger, group = '') {
  let bars;
  if (ledger.by === 'city') {
    bars = ledger.rows.map((r) => ({ key: r.group, label: r.group_name, value: r.area_ha }));
  } else if (ledger.subtotals && !group) {
    bars = ledger.subtotals.map((s) => ({ key: s.district ?? '', label: s.district_name || s.district || '', value: s.area_ha }));
  } else {
    const chosen = group || (ledger.groups[0] && ledger.groups[0].key);
    bars = ledger.rows.filter((r) => r.group === chosen).map((r) => ({ key: r.district ?? '', label: r.district_name || r.district || '', value: r.area_ha }));
  }
  return bars.filter((b) => b.value > 0).sort((a, b) => b.value - a.value || String(a.key).localeCompare(String(b.key)));
}

/** Rough advance of one character in em: CJK and full-width forms are square, the rest
 *  (Latin, digits) about 0.62 em in the widget's sans-serif fonts. */
const charEm = (ch) => (/[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]/.test(ch) ? 1 : 0.62);

/** Width (px at `fontPx`) a label needs, e.g. 彭水苗族土家族自治县 at 12 px → 120. */
export function labelWidth(label, fontPx = 12) {
  let em = 0;
  for (const ch of String(label)) em += charEm(ch);
  return Math.ceil(em * fontPx);
}

/**
 * The label column of a bar chart: wide enough for the longest label (plus `gap`), at
 * least `min`, at most `max` — a label longer still is shortened with "…" (its full text
 * stays in the bar's tooltip). Returns {width, labels: [shown text per bar]}.
 */
export function labelColumn(bars, { fontPx = 12, gap = 10, min = 60, max = 280 } = {}) {
  const widest = bars.reduce((m, b) => Math.max(m, labelWidth(b.label, fontPx)), 0);
  const width = Math.min(max, Math.max(min, widest + gap));
  const room = width - gap;
  const labels = bars.map((b) => {
    const text = String(b.label);
    if (labelWidth(text, fontPx) <= room) return text;
    let cut = '';
    for (const ch of text) {
      if (labelWidth(`${cut}${ch}…`, fontPx) > room) break;
      cut += ch;
    }
    return `${cut}…`;
  });
  return { width, labels };
}

/**
 * Geometry of a horizontal bar chart: label column, bars scaled to the largest value,
 * rows of `rowHeight`. Returns {width, height, rows: [{y, barWidth, ...bar}], max}.
 */
export function barLayout(bars, { width = 560, rowHeight = 22, labelWidth = 120, valueWidth = 90 } = {}) {
  const max = bars.reduce((m, b) => Math.max(m, b.value), 0);
  const room = Math.max(10, width - labelWidth - valueWidth);
  return {
    width,
    height: Math.max(rowHeight, bars.length * rowHeight),
    max,
    labelWidth,
    rows: bars.map((b, i) => ({ ...b, y: i * rowHeight, barWidth: max > 0 ? Math.max(1, (b.value / max) * room) : 0 })),
  };
}
