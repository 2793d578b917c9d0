// The projects widget (项目生成): the project reserve with its pre-study outcomes (GET
// /api/v1/reserve/projects, filters by department, district and outcome), a project's page
// (GET …/projects/{id}: the reasons with their layers, measured figures and adjustments, the
// candidate sites, the red line and candidates on the shared map; POST …/pre-study), a batch
// pre-study as a job, the XLSX export, and the construction schedule (POST …/schedule) as a
// Gantt chart by year with the quota use per district and the idle funds highlighted, with a
// CSV export. Events `project-selected`, `schedule-computed`; commands `open-project`,
// `run-pre-study`. Parameters, commands, events and errors: manifest.json; texts: messages.js.
import '../common/base.css';
import './widget.css';
import { clearInvalid, describe, table } from '../common/dom.js';
import { BOM, csvText, saveBlob, saveText } from '../common/export.js';
import { formatNumber } from '../common/format.js';
import { $, createWidget, el, layersOfKinds } from '../common/widget-base.js';
import { errors } from './manifest.json';
import { messages } from './messages.js';
import { OUTCOME_ICONS, OUTCOMES, distinct, ganttRows, listQuery, projectId, projectOverlays, quotaTable, scheduleEvent, scheduleRequest, scheduleRows, selectedEvent } from './model.js';

/** Layer kinds drawn under a project for context (checked: shown at start). */
const CONTEXT_KINDS = { district: true, basic_farmland: true, ecological_redline: true, urban_boundary: true, land_use_plan: false };
/** How often a batch pre-study's job is polled. */
const JOB_POLL_MS = 500;

const widget = createWidget({
  name: 'projects',
  messages,
  errors,
  state: {
    map: null,
    /** Every project of the caller (for the filters' choices and the Gantt chart). */
    all: [],
    /** The list as filtered. */
    projects: [],
    project: null,
    schedule: null,
    busy: false,
  },
});
const { ctx, state, update, t, lockedNote, markLocked, showProblem, startMap } = widget;

const fmt = (value, digits = 2) => (value === null || value === undefined ? '—' : formatNumber(ctx.locale, value, digits));
const when = (iso) => (iso ? new Date(iso).toLocaleString(ctx.locale) : '—');
const api = (path, opts) => ctx.api(`reserve/${path}`, opts);
const statusOf = (p) => p.pre_study_status || 'not_studied';

function badge(kind) {
  const node = el('span', 'pfp-badge');
  node.dataset.kind = kind;
  const mark = el('span', 'pfp-badge-icon', OUTCOME_ICONS[kind] || '•');
  mark.setAttribute('aria-hidden', 'true');
  node.append(mark, el('span', null, t(`status.${kind}`)));
  return node;
}

function setBusy(busy) {
  update({ busy });
  $('pfp').setAttribute('aria-busy', busy ? 'true' : 'false');
  for (const id of ['pfp-study', 'pfp-study-all', 'pfp-compute']) if ($(id)) $(id).disabled = busy;
}

// --- the list -----------------------------------------------------------------------------

function filters() {
  return { dept: $('pfp-dept').value, district: $('pfp-district').value, status: $('pfp-status').value };
}

function fillSelect(select, values, keep) {
  const first = select.options[0];
  select.replaceChildren(first, ...values.map((v) => Object.assign(el('option', null, v), { value: v })));
  select.value = values.includes(keep) ? keep : '';
}

async function loadAll() {
  const { projects } = await api('projects', { query: { limit: 5000 } });
  update({ all: projects });
  const locked = ctx.lockedParams || {};
  fillSelect($('pfp-dept'), distinct(projects, 'dept').concat(locked.dept && !projects.some((p) => p.dept === locked.dept) ? [locked.dept] : []), locked.dept || $('pfp-dept').value);
  fillSelect($('pfp-district'), distinct(projects, 'district').concat(locked.district && !projects.some((p) => p.district === locked.district) ? [locked.district] : []), locked.district || $('pfp-district').value);
}

async function loadList() {
  ctx.showStatus(t('list.loading'), 'info');
  try {
    const { projects, total } = await api('projects', { query: listQuery(filters()) });
    update({ projects });
    ctx.clearStatus();
    renderList(projects, total);
  } catch (error) {
    showProblem(error);
  }
}

function renderList(projects, total) {
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
  for (const p of projects) counts[statusOf(p)] += 1;
  $('pfp-summary').textContent = t('list.summary', { total, ...counts });
  if (!projects.length) {
    $('pfp-table').replaceChildren(el('p', 'pfp-none', t('list.none')));
  } else {
    const rows = projects.map((p) => {
      const tr = el('tr');
      tr.dataset.id = String(p.id);
      const name = el('th');
      name.scope = 'row';
      const open = el('button', 'pfp-link', p.name);
      open.type = 'button';
      open.addEventListener('click', () => openProject(p.id).catch(() => {}));
      name.append(open);
      const status = el('td');
      status.append(badge(statusOf(p)));
      tr.append(el('td', 'pfp-num', String(p.id)), name, el('td', null, p.dept), el('td', null, p.district), el('td', 'pfp-num', String(p.priority)), el('td', 'pfp-num', fmt(p.area_m2)), status);
      return tr;
    });
    const headers = [[t('col.id'), 'pfp-num'], t('col.name'), t('col.dept'), t('col.district'), [t('col.priority'), 'pfp-num'], [t('col.area'), 'pfp-num'], t('col.status')];
    $('pfp-table').replaceChildren(table(t('list.caption'), headers, rows, 'pfp-table'));
  }
  renderQuotaInputs(projects);
}

// --- a project ----------------------------------------------------------------------------

async function openProject(id, { announce = true } = {}) {
  ctx.showStatus(t('project.loading'), 'info');
  try {
    const project = await api(`projects/${id}`);
    update({ project });
    ctx.clearStatus();
    renderProject(project);
    ctx.emit('project-selected', selectedEvent(project));
    if (announce) ctx.announce(t('project.announce', { name: project.name, status: t(`status.${statusOf(project)}`) }));
    return project;
  } catch (error) {
    showProblem(error, { code: 'not_found' });
    throw error;
  }
}

function adjustmentText(adjustment) {
  if (!adjustment) return '—';
  return t(`adjust.${adjustment.kind}`, { area: fmt(adjustment.area_m2) });
}

function measuredText(measured) {
  const parts = [];
  for (const [key, value] of Object.entries(measured || {})) {
    const label = t.has(`measured.${key}`) ? t(`measured.${key}`) : key;
    if (key === 'overlap_ratio') parts.push(`${label} ${fmt(value * 100)}%`);
    else if (key === 'conflict_id') parts.push(`${label} #${value}`);
    else if (typeof value === 'number') parts.push(`${label} ${fmt(value)}`);
    else if (Array.isArray(value)) parts.push(`${label} ${value.join('、')}`);
  }
  return parts.join('；') || '—';
}

function noteBadge() {
  const node = el('span', 'pfp-badge');
  node.dataset.kind = 'note';
  const mark = el('span', 'pfp-badge-icon', 'ℹ');
  mark.setAttribute('aria-hidden', 'true');
  node.append(mark, el('span', null, t('status.note')));
  return node;
}

function reasonRows(reasons, { notes = false } = {}) {
  return reasons.map((r) => {
    const tr = el('tr');
    tr.dataset.code = r.code;
    const message = el('th', null, r.message[ctx.locale] || r.message['zh-CN']);
    message.scope = 'row';
    const outcome = el('td');
    outcome.append(notes ? noteBadge() : badge(r.outcome));
    tr.append(message, outcome, el('td', null, (r.layers || []).join('、') || '—'), el('td', null, measuredText(r.measured)), el('td', null, adjustmentText(r.adjustment)));
    return tr;
  });
}

function renderProject(p) {
  $('pfp-project').hidden = false;
  $('pfp-title').textContent = p.name;
  $('pfp-outcome').replaceChildren(badge(statusOf(p)));
  const facts = $('pfp-facts');
  facts.textContent = '';
  const study = p.pre_study;
  describe(facts, [
    [t('project.facts.type'), p.type],
    [t('project.facts.dept'), p.dept],
    [t('project.facts.district'), p.district],
    [t('project.facts.land_use'), p.land_use],
    [t('project.facts.area'), `${fmt(p.area_m2)} m²`],
    [t('project.facts.red_line'), p.has_red_line ? `${fmt(p.red_line_area_m2)} m²（${p.crs}）` : t('project.facts.no_red_line')],
    [t('project.facts.priority'), String(p.priority)],
    [t('project.facts.funds'), Object.entries(p.funds).map(([y, v]) => `${y}: ${fmt(v)}`).join('；') || '—'],
    [t('project.facts.depends'), p.depends_on.map((d) => `#${d}`).join('、')],
    [t('project.facts.window'), p.earliest_year || p.latest_year ? `${p.earliest_year || '…'}–${p.latest_year || '…'}` : ''],
    [t('project.facts.figures'), study ? `${fmt(study.new_construction_land_m2)} / ${fmt(study.farmland_m2)} m²` : ''],
  ]);
  const box = $('pfp-reasons');
  if (!study) {
    box.replaceChildren(el('p', 'pfp-none', t('project.none')));
  } else {
    const nodes = [el('p', 'pfp-meta', `${t('project.studied_at', { at: when(study.studied_at) })}${study.compliance_report_id ? ` · ${t('col.report')} ${study.compliance_report_id}` : ''}`)];
    const rows = [...reasonRows(study.reasons), ...reasonRows(study.notes, { notes: true })];
    if (rows.length) {
      nodes.push(table(null, [t('col.code'), t('col.outcome'), t('col.layers'), t('col.measured'), t('col.adjustment')], rows, 'pfp-table pfp-reasons-table'));
    }
    if (!study.reasons.length) {
      nodes.push(el('p', 'pfp-none', t('project.landable_none')));
    }
    if (study.changes) {
      const c = study.changes;
      const text = c.changed ? [c.outcome ? `${t(`status.${c.outcome.before}`)} → ${t(`status.${c.outcome.after}`)}` : '', ...c.layers.map((l) => `${l.layer} v${l.before ?? '—'} → v${l.after ?? '—'}`), ...Object.keys(c.figures)].filter(Boolean).join('；') : '';
      nodes.push(el('p', 'pfp-meta', c.changed ? t('project.changes', { text }) : t('project.no_changes')));
    }
    box.replaceChildren(...nodes);
  }
  renderCandidates(study);
  drawProject(p);
}

function renderCandidates(study) {
  const candidates = (study && study.candidates) || [];
  $('pfp-candidates-section').hidden = !candidates.length;
  if (!candidates.length) return;
  const rows = candidates.map((c) => {
    const tr = el('tr');
    const rank = el('th');
    rank.scope = 'row';
    const show = el('button', 'pfp-link', `#${c.rank}`);
    show.type = 'button';
    show.addEventListener('click', () => state.map && state.map.highlight('candidates', `candidate:${c.feature_id}`, { zoom: true }));
    rank.append(show);
    const outcome = el('td');
    outcome.append(badge(c.outcome));
    tr.append(rank, el('td', 'pfp-num', fmt(c.area_m2)), el('td', null, c.land_use), outcome, el('td', null, c.compliance_report_id || '—'));
    return tr;
  });
  $('pfp-candidates').replaceChildren(table(null, [t('col.rank'), [t('col.area'), 'pfp-num'], t('project.facts.land_use'), t('col.outcome'), t('col.report')], rows, 'pfp-table'));
}

function drawProject(p) {
  if (!state.map) return;
  const overlays = projectOverlays(p);
  state.map.setOverlay('candidates', overlays.candidates, 'candidate');
  state.map.setOverlay('project', overlays.redLine, 'project');
  if (overlays.redLine.features.length) state.map.fitTo('project');
  else if (overlays.candidates.features.length) state.map.fitTo('candidates');
}

async function runPreStudy(id) {
  setBusy(true);
  ctx.showStatus(t('study.running'), 'info');
  try {
    const result = await api(`projects/${id}/pre-study`, { method: 'POST' });
    await loadList();
    await openProject(id, { announce: false });
    const done = t('study.done', { status: t(`status.${result.outcome}`) });
    ctx.showStatus(done, 'success');
    ctx.announce(done);
    return result;
  } catch (error) {
    ctx.clearStatus();
    showProblem(error);
    throw error;
  } finally {
    setBusy(false);
  }
}

async function studyStale() {
  setBusy(true);
  try {
    let job = await api('pre-study', { method: 'POST', body: { projects: 'stale' } });
    while (job.state === 'queued' || job.state === 'running') {
      ctx.showStatus(t('study.batch', { n: '…', pct: `${Math.round((job.progress || 0) * 100)}%` }), 'info');
      await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
      job = await ctx.api(`jobs/${encodeURIComponent(job.id)}`);
    }
    if (job.state !== 'done') throw Object.assign(new Error(job.error ? job.error.detail : job.state), job.error || {});
    await loadList();
    const done = t('study.batch_done', job.summary.counts);
    ctx.showStatus(done, 'success');
    ctx.announce(done);
  } catch (error) {
    ctx.clearStatus();
    showProblem(error);
  } finally {
    setBusy(false);
  }
}

async function exportReserve() {
  try {
    const response = await api('projects.xlsx', { raw: true });
    saveBlob(await response.blob(), 'reserve.xlsx');
  } catch (error) {
    showProblem(error);
  }
}

// --- the schedule -------------------------------------------------------------------------

function renderQuotaInputs(projects) {
  const box = $('pfp-quotas');
  const kept = Object.fromEntries([...box.querySelectorAll('input')].map((i) => [i.dataset.district, i.value]));
  const districts = distinct(projects, 'district');
  if (!districts.length) {
    box.replaceChildren(el('p', 'pfp-none', t('schedule.no_districts')));
    return;
  }
  box.replaceChildren(
    ...districts.map((d) => {
      const field = el('div', 'pfp-quota');
      const input = el('input');
      input.id = `pfp-quota-${d}`;
      input.type = 'number';
      input.min = '0';
      input.inputMode = 'decimal';
      input.dataset.district = d;
      input.value = kept[d] ?? '';
      const label = el('label', null, t('schedule.quota_label', { district: d }));
      label.htmlFor = input.id;
      field.append(label, input);
      return field;
    }),
  );
}

async function computeSchedule() {
  const errorBox = $('pfp-schedule-error');
  errorBox.hidden = true;
  const quotas = Object.fromEntries([...$('pfp-quotas').querySelectorAll('input')].map((i) => [i.dataset.district, i.value.trim()]));
  const draft = scheduleRequest({ from: $('pfp-from').value, to: $('pfp-to').value, quotas, budget: $('pfp-budget').value.trim(), projects: state.projects.map((p) => p.id) });
  if (draft.problem) {
    showProblem({ text: t(draft.problem) }, { into: errorBox });
    const target = draft.field === 'budget' ? $('pfp-budget') : draft.field ? $(`pfp-quota-${draft.field}`) : $('pfp-from');
    if (target) {
      target.setAttribute('aria-invalid', 'true');
      target.focus();
    }
    return null;
  }
  setBusy(true);
  ctx.showStatus(t('schedule.running'), 'info');
  try {
    const result = await api('schedule', { method: 'POST', body: draft.body });
    clearInvalid($('pfp-schedule-form'));
    update({ schedule: result });
    ctx.clearStatus();
    renderSchedule(result);
    ctx.emit('schedule-computed', scheduleEvent(result));
    ctx.announce($('pfp-objective').textContent);
    return result;
  } catch (error) {
    ctx.clearStatus();
    showProblem(error, { into: errorBox, code: 'invalid_schedule_request', fields: { years: 'pfp-from', budget: 'pfp-budget' } });
    return null;
  } finally {
    setBusy(false);
  }
}

function renderSchedule(result) {
  const o = result.objective;
  const optimal = o.optimal ? t('schedule.optimal') : t('schedule.gap', { gap: o.gap ?? '—' });
  $('pfp-objective').textContent = t('schedule.objective', { n: result.schedule.length, priority: o.priority_sum, optimal, idle: fmt(result.idle_funds_total) });
  const rows = ganttRows(result, state.all).map((row) => {
    const tr = el('tr');
    tr.dataset.id = String(row.id);
    const name = el('th', null, `#${row.id} ${row.name}`);
    name.scope = 'row';
    tr.append(name);
    for (const cell of row.cells) {
      const td = el('td', `pfp-gantt-cell pfp-gantt-${cell.kind}`);
      if (cell.kind !== 'empty') {
        const label = cell.kind === 'start' ? t('schedule.start') : cell.kind === 'idle' ? t('schedule.idle') : t('schedule.funded');
        td.append(el('span', 'pfp-gantt-label', cell.kind === 'idle' ? `⚠ ${label}` : label));
        if (cell.amount) td.append(el('span', 'pfp-gantt-amount', fmt(cell.amount)));
        if (cell.reason) td.title = cell.reason;
      }
      tr.append(td);
    }
    const reason = el('td', 'pfp-gantt-reason', row.reason ? t('schedule.unscheduled', { reason: row.reason }) : '');
    tr.append(reason);
    return tr;
  });
  $('pfp-gantt').replaceChildren(table(t('schedule.gantt'), [t('col.project'), ...result.years.map(String), t('col.reason')], rows, 'pfp-table pfp-gantt'));
  $('pfp-quota-use').replaceChildren(
    ...quotaTable(result).map((group) =>
      table(
        t('schedule.quota_use', { district: group.district }),
        [t('col.year'), [t('col.quota'), 'pfp-num'], [t('col.used'), 'pfp-num'], [t('col.remaining'), 'pfp-num'], t('col.project')],
        group.years.map((q) => {
          const tr = el('tr');
          const year = el('th', null, String(q.year));
          year.scope = 'row';
          tr.append(year, el('td', 'pfp-num', fmt(q.quota_m2)), el('td', 'pfp-num', fmt(q.used_m2)), el('td', 'pfp-num', fmt(q.remaining_m2)), el('td', null, q.projects.map((id) => `#${id}`).join('、')));
          return tr;
        }),
        'pfp-table',
      ),
    ),
  );
  if (!result.idle_funds.length) {
    $('pfp-idle').replaceChildren(el('p', 'pfp-none', t('schedule.no_idle')));
  } else {
    const idleRows = result.idle_funds.map((i) => {
      const tr = el('tr', 'pfp-idle-row');
      const project = el('th', null, `#${i.project_id}`);
      project.scope = 'row';
      tr.append(project, el('td', null, String(i.year)), el('td', 'pfp-num', fmt(i.amount)), el('td', null, i.message));
      return tr;
    });
    $('pfp-idle').replaceChildren(table(t('schedule.idle_caption', { total: fmt(result.idle_funds_total) }), [t('col.project'), t('col.year'), [t('col.amount'), 'pfp-num'], t('col.reason')], idleRows, 'pfp-table'));
  }
  $('pfp-schedule-export').disabled = false;
}

function exportSchedule() {
  if (!state.schedule) return;
  saveText(BOM + csvText(scheduleRows(state.schedule, state.all, t)), 'text/csv;charset=utf-8', 'schedule.csv');
}

// --- print and locks ----------------------------------------------------------------------

async function printPage() {
  if (state.map) {
    const image = await state.map.toImage();
    let img = $('pfp-print-map');
    if (!img) {
      img = el('img', 'pfp-print-map');
      img.id = 'pfp-print-map';
      $('pfp-map-section').prepend(img);
    }
    img.alt = t('map.legend.project');
    if (image) img.src = image;
  }
  window.print();
}

function showLocks() {
  const locked = ctx.lockedParams || {};
  const notes = [];
  if (locked.dept) {
    notes.push(lockedNote(t('list.locked_dept', { dept: locked.dept })));
    markLocked($('pfp-dept'));
  }
  if (locked.district) {
    notes.push(lockedNote(t('list.locked_district', { district: locked.district })));
    markLocked($('pfp-district'));
  }
  $('pfp-locks').replaceChildren(...notes);
}

// --- start --------------------------------------------------------------------------------

function commandId(payload) {
  const id = projectId((payload || {}).id);
  if (id === null) throw widget.invalidPayload('command.project_id');
  return id;
}

function commandError(error) {
  return Object.assign(new Error(error.detail || error.message), { code: error.code || 'not_found' });
}

widget.start({
  async init() {
    const year = new Date().getFullYear();
    $('pfp-from').value = String(year);
    $('pfp-to').value = String(year + 4);
    const { map } = await startMap($('pfp-map'), { layers: (catalogue) => layersOfKinds(catalogue, CONTEXT_KINDS), identify: true });
    update({ map });
    await loadAll();
    showLocks();
    for (const id of ['pfp-dept', 'pfp-district', 'pfp-status']) $(id).addEventListener('change', () => loadList());
    $('pfp-filters').addEventListener('submit', (event) => event.preventDefault());
    $('pfp-schedule-form').addEventListener('submit', (event) => {
      event.preventDefault();
      computeSchedule();
    });
    $('pfp-study').addEventListener('click', () => state.project && runPreStudy(state.project.id).catch(() => {}));
    $('pfp-study-all').addEventListener('click', () => studyStale());
    $('pfp-export').addEventListener('click', () => exportReserve());
    $('pfp-schedule-export').addEventListener('click', () => exportSchedule());
    $('pfp-print').addEventListener('click', () => printPage());
    $('pfp-back').addEventListener('click', () => {
      $('pfp-project').hidden = true;
      const row = state.project && document.querySelector(`#pfp-table tr[data-id="${state.project.id}"] button`);
      if (row) row.focus();
    });
    await loadList();
    const start = projectId((ctx.params || {}).project);
    if (start) await openProject(start).catch(() => {});
    $('pfp').setAttribute('aria-busy', 'false');
  },
  commands: {
    async 'open-project'(payload) {
      const id = commandId(payload);
      try {
        const p = await openProject(id);
        ctx.focus($('pfp-title'));
        return { id: p.id, name: p.name, pre_study_status: p.pre_study_status };
      } catch (error) {
        throw commandError(error);
      }
    },
    async 'run-pre-study'(payload) {
      const id = commandId(payload);
      try {
        const result = await runPreStudy(id);
        ctx.focus($('pfp-title'));
        return { id, outcome: result.outcome, compliance_report_id: result.compliance_report_id };
      } catch (error) {
        throw commandError(error);
      }
    },
  },
});
