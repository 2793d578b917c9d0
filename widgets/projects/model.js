// The projects widget's pure logic (no DOM): the list query, the schedule request from the
// form, the Gantt rows, the map overlays and the event payloads. Tested in model.test.js.

/** Pre-study outcomes → symbol (never colour alone). */
export const OUTCOME_ICONS = { landable: '✔', needs_adjustment: '⚠', not_landable: '✖', not_studied: '○' };

export const OUTCOMES = ['landable', 'needs_adjustment', 'not_landable', 'not_studied'];

/** A positive whole number (a project id), or null. */
export function projectId(value) {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** The list's query from the filters (empty ones left out). */
export function listQuery({ dept = '', district = '', status = '' } = {}) {
  const query = { limit: 1000 };
  if (dept) query.dept = dept;
  if (district) query.district = district;
  if (status) query.status = status;
  return query;
}

/** The distinct values of `key` among the projects, sorted. */
export function distinct(projects, key) {
  return [...new Set(projects.map((p) => p[key]).filter(Boolean))].sort();
}

/** The years from..to (inclusive), or a problem key. */
export function horizon(from, to) {
  const a = Number(from);
  const b = Number(to);
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 2000 || b > 2100) return { problem: 'schedule.need_years' };
  if (b < a) return { problem: 'schedule.years_order' };
  if (b - a >= 30) return { problem: 'schedule.too_many_years' };
  return { years: Array.from({ length: b - a + 1 }, (_, i) => a + i) };
}

/**
 * The schedule request: `years`, one yearly quota (m²) per district (the same every year),
 * one yearly budget (万元, empty: none), the projects shown in the list.
 */
export function scheduleRequest({ from, to, quotas, budget, projects }) {
  const span = horizon(from, to);
  if (span.problem) return span;
  const out = { years: span.years, quotas: {}, projects: projects && projects.length ? projects : 'all' };
  for (const [district, value] of Object.entries(quotas || {})) {
    const amount = Number(value);
    if (value === '' || !Number.isFinite(amount) || amount < 0) return { problem: 'schedule.need_quota', field: district };
    out.quotas[district] = Object.fromEntries(span.years.map((y) => [String(y), amount]));
  }
  if (budget !== '' && budget !== null && budget !== undefined) {
    const amount = Number(budget);
    if (!Number.isFinite(amount) || amount < 0) return { problem: 'schedule.need_budget', field: 'budget' };
    out.budget = Object.fromEntries(span.years.map((y) => [String(y), amount]));
  }
  return { body: out };
}

/**
 * The Gantt chart's rows: one per project of the answer (scheduled first by year, then the
 * others), with one cell per year: `start` (the start year), `funded` (funds planned and
 * spent), `idle` (funds planned in a year the project does not start: 资金闲置), or empty.
 */
export function ganttRows(result, projects) {
  const byId = new Map(projects.map((p) => [p.id, p]));
  const idle = new Map();
  for (const i of result.idle_funds) idle.set(`${i.project_id}:${i.year}`, i);
  const starts = new Map(result.schedule.map((s) => [s.project_id, s.year]));
  const ids = [...result.schedule.map((s) => s.project_id), ...result.unscheduled.map((u) => u.project_id)];
  return ids.map((id) => {
    const project = byId.get(id) || { id, name: `#${id}`, funds: {} };
    const start = starts.get(id) ?? null;
    const cells = result.years.map((year) => {
      const amount = Number((project.funds || {})[String(year)] || 0);
      const idleEntry = idle.get(`${id}:${year}`);
      if (idleEntry) return { year, kind: 'idle', amount: idleEntry.amount, reason: idleEntry.message };
      if (start === year) return { year, kind: 'start', amount };
      if (start !== null && year > start && amount > 0) return { year, kind: 'funded', amount };
      return { year, kind: 'empty', amount: 0 };
    });
    const reason = result.unscheduled.find((u) => u.project_id === id);
    return { id, name: project.name, start, cells, reason: reason ? reason.message : null };
  });
}

/** Quota use grouped by district: [{district, years: [{year, quota_m2, used_m2, …}]}]. */
export function quotaTable(result) {
  const groups = new Map();
  for (const q of result.quota_use) {
    if (!groups.has(q.district)) groups.set(q.district, []);
    groups.get(q.district).push(q);
  }
  return [...groups.entries()].map(([district, years]) => ({ district, years }));
}

/** The map's overlays for a project: its red line and its candidate sites (ranked). */
export function projectOverlays(project) {
  const redLine = project.geometry
    ? { type: 'FeatureCollection', features: [{ type: 'Feature', id: `project:${project.id}`, geometry: project.geometry, properties: { name: project.name } }] }
    : { type: 'FeatureCollection', features: [] };
  const candidates = ((project.pre_study || {}).candidates || []).map((c) => ({
    type: 'Feature',
    id: `candidate:${c.feature_id}`,
    geometry: c.geometry,
    properties: { rank: c.rank, outcome: c.outcome, area_m2: c.area_m2 },
  }));
  return { redLine, candidates: { type: 'FeatureCollection', features: candidates } };
}

/** The `project-selected` payload. */
export function selectedEvent(project) {
  return { id: project.id, name: project.name, dept: project.dept, district: project.district, pre_study_status: project.pre_study_status };
}

/** The `schedule-computed` payload. */
export function scheduleEvent(result) {
  return {
    years: result.years,
    schedule: result.schedule.map((s) => ({ project_id: s.project_id, year: s.year })),
    unscheduled: result.unscheduled.map((u) => ({ project_id: u.project_id, reason: u.reason })),
    priority_sum: result.objective.priority_sum,
    optimal: result.objective.optimal,
    idle_funds_total: result.idle_funds_total,
  };
}

/** The schedule as CSV rows (header first), for export. */
export function scheduleRows(result, projects, t) {
  const rows = [[t('csv.project_id'), t('csv.name'), t('csv.district'), t('csv.priority'), t('csv.year'), t('csv.reason')]];
  const byId = new Map(projects.map((p) => [p.id, p]));
  for (const s of result.schedule) rows.push([s.project_id, s.name, s.district, s.priority, s.year, '']);
  for (const u of result.unscheduled) {
    const p = byId.get(u.project_id) || {};
    rows.push([u.project_id, p.name || '', p.district || '', p.priority || '', '', u.message]);
  }
  return rows;
}
