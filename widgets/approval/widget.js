// The approval widget (协同审批): the portal's inline opinions panel. GET
// /api/v1/approvals/{id} (+ /evidence, /history) → the case's departments with their
// opinions, conditions, deadlines and overdue marks, the evidence frozen at opening with
// its map; the opinion form of the user's own department (POST …/opinions, attachments
// first through POST …/attachments); closing by the portal (POST …/close); the print layout
// of a 联合审查意见书; the `opinion-submitted` / `case-closed` events and the `open-case`
// command. Parameters, commands, events and errors: manifest.json; texts: messages.js.
import '../common/base.css';
import './widget.css';
import { clearInvalid, describe, table } from '../common/dom.js';
import { saveBlob } from '../common/export.js';
import { formatNumber, localized, percentText } from '../common/format.js';
import { $, createWidget, el, layersOfKinds } from '../common/widget-base.js';
import { errors } from './manifest.json';
import { messages } from './messages.js';
import { OPINION_ICONS, STATE_ICONS, closeRequest, closedEvent, evidenceOverlays, historyLine, isCaseId, opinionEvent, opinionRequest, ownDepartments, ruleText } from './model.js';

/** Layer kinds drawn under the evidence for context. */
const CONTEXT_KINDS = { district: true, basic_farmland: true, ecological_redline: true, urban_boundary: false, land_use_plan: false };
/** Compliance statuses → symbol (never colour alone). */
/** Pre-study outcomes (预研) → symbol. */
const PRE_STUDY_ICONS = { landable: '✔', needs_adjustment: '◆', not_landable: '✖' };
const ITEM_ICONS = { pass: '✔', warn: '⚠', fail: '✖', needs_review: '◆', needs_approval: '▲', not_checked: '?', info: 'ℹ' };

const widget = createWidget({
  name: 'approval',
  messages,
  errors,
  state: {
    map: null,
    /** The case as GET /approvals/{id} answers (with `caller`: what this user may do). */
    caseDoc: null,
    evidence: null,
    history: [],
    /** A request is running (the forms are disabled meanwhile). */
    busy: false,
  },
});
const { ctx, state, update, t, lockedNote, showProblem, startMap } = widget;

const fmt = (value, digits = 2) => formatNumber(ctx.locale, value, digits);
const when = (iso) => (iso ? new Date(iso).toLocaleString(ctx.locale) : '—');
const api = (path, opts) => ctx.api(`approvals/${path}`, opts);

function badge(className, kind, icon, text) {
  const node = el('span', className);
  node.dataset.kind = kind;
  const mark = el('span', `${className}-icon`, icon);
  mark.setAttribute('aria-hidden', 'true');
  node.append(mark, el('span', `${className}-text`, text));
  return node;
}

/** A department as the user reads it: the record's name in their language, else as named. */
const deptName = (d) => (d.department ? localized(d.department.name, ctx.locale) : d.dept);

const opinionBadge = (opinion) => badge('pfa-opinion', opinion || 'pending', OPINION_ICONS[opinion || 'pending'], t(`opinion.${opinion || 'pending'}`));

function setBusy(busy) {
  update({ busy });
  $('pfa').setAttribute('aria-busy', busy ? 'true' : 'false');
  for (const id of ['pfa-submit', 'pfa-close', 'pfa-withdraw', 'pfa-open', 'pfa-refresh', 'pfa-xlsx']) if ($(id)) $(id).disabled = busy;
}

// --- the case ---------------------------------------------------------------------------

async function loadCase(id, { announce = true } = {}) {
  setBusy(true);
  ctx.showStatus(t('case.loading'), 'info');
  try {
    const [caseDoc, evidence, history] = await Promise.all([api(encodeURIComponent(id)), api(`${encodeURIComponent(id)}/evidence`), api(`${encodeURIComponent(id)}/history`)]);
    update({ caseDoc, evidence, history: history.history });
    ctx.clearStatus();
    if ($('pfa-case-select').querySelector(`option[value="${CSS.escape(caseDoc.id)}"]`)) $('pfa-case-select').value = caseDoc.id;
    render();
    if (announce) {
      ctx.announce(t('case.announce', { name: caseDoc.project.name, state: t(`state.${caseDoc.state}`), pending: caseDoc.summary.pending }));
    }
    return caseDoc;
  } catch (error) {
    showProblem(error, { code: 'not_found' });
    throw error;
  } finally {
    setBusy(false);
  }
}

function render() {
  const c = state.caseDoc;
  $('pfa-case').hidden = false;
  $('pfa-title').textContent = t('case.title', { name: c.project.name || c.project.id });
  $('pfa-meta').textContent = t('case.meta', { id: c.id, due: c.due, opened: when(c.opened_at) });
  $('pfa-state').replaceChildren(badge('pfa-badge', c.state, STATE_ICONS[c.state], t(`state.${c.state}`)));
  $('pfa-overdue').hidden = !c.overdue;
  $('pfa-overdue').textContent = c.overdue ? `⚠ ${t('case.overdue')}` : '';
  $('pfa-summary').textContent = t('summary.text', c.summary);
  renderDepartments(c);
  renderOpinionForm(c);
  renderClose(c);
  renderEvidence(state.evidence);
  renderHistory(state.history);
  renderPrint(c, state.evidence);
}

function renderDepartments(c) {
  const mine = new Set(c.caller.departments);
  const rows = c.departments.map((d) => {
    const tr = el('tr');
    tr.dataset.dept = d.dept;
    if (d.overdue) tr.classList.add('pfa-row-overdue');
    const name = el('th', null, deptName(d) + (mine.has(d.dept) ? t('dept.yours') : ''));
    name.scope = 'row';
    const due = el('td');
    due.append(el('span', null, d.due));
    if (d.overdue) due.append(el('span', 'pfa-overdue-mark', ` ⚠ ${t('dept.overdue', { days: d.overdue_working_days })}`));
    const opinion = el('td');
    opinion.append(opinionBadge(d.opinion));
    if (d.revisions > 1) opinion.append(el('span', 'pfa-revisions', ` ${t('dept.revisions', { n: d.revisions })}`));
    if (d.opinion) opinion.append(el('div', 'pfa-by', t('dept.by', { name: d.user_name || d.user || '—', at: when(d.answered_at) })));
    const detail = el('td');
    if (d.conditions.length) {
      const list = el('ol', 'pfa-conditions');
      list.setAttribute('aria-label', t('dept.conditions'));
      for (const text of d.conditions) list.append(el('li', null, text));
      detail.append(list);
    }
    if (d.reasons) detail.append(el('p', 'pfa-reasons', t('dept.reasons', { text: d.reasons })));
    if (d.attachments.length) {
      const files = el('ul', 'pfa-files');
      files.setAttribute('aria-label', t('dept.attachments'));
      for (const a of d.attachments) {
        const button = el('button', 'pfa-link', `${a.filename} (${fmt(a.size_bytes / 1024, 1)} KB)`);
        button.type = 'button';
        button.addEventListener('click', () => downloadAttachment(a));
        const li = el('li');
        li.append(button);
        files.append(li);
      }
      detail.append(files);
    }
    tr.append(name, due, opinion, detail);
    return tr;
  });
  $('pfa-departments-table').replaceChildren(table(null, [t('col.dept'), t('col.due'), t('col.opinion'), t('col.detail')], rows, 'pfa-table'));
}

async function downloadAttachment(a) {
  try {
    const response = await api(`${encodeURIComponent(state.caseDoc.id)}/attachments/${encodeURIComponent(a.id)}`, { raw: true });
    saveBlob(await response.blob(), a.filename);
  } catch (error) {
    showProblem(error);
  }
}

function renderOpinionForm(c) {
  const own = c.caller.can_give_opinion ? ownDepartments(c)[0] : null;
  $('pfa-form-section').hidden = !own;
  if (!own) return;
  $('pfa-form-legend').textContent = t('form.legend', { dept: deptName(own) });
  const current = $('pfa-current');
  current.hidden = !own.opinion;
  if (own.opinion) current.textContent = t('form.current', { at: when(own.answered_at), opinion: t(`opinion.${own.opinion}`), n: own.revisions });
  // The form starts from the department's latest opinion, so a revision edits it.
  for (const radio of opinionRadios()) radio.checked = radio.value === own.opinion;
  // A new case or a saved opinion starts clean: no error or invalid mark left over.
  clearInvalid($('pfa-form'));
  $('pfa-form-error').hidden = true;
  $('pfa-conditions').value = (own.conditions || []).join('\n');
  $('pfa-reasons').value = own.reasons || '';
  $('pfa-files').value = '';
  showConditions();
}

function opinionRadios() {
  return [...document.querySelectorAll('input[name="opinion"]')];
}

function showConditions() {
  const chosen = opinionRadios().find((r) => r.checked);
  $('pfa-conditions-field').hidden = !(chosen && chosen.value === 'agree_with_conditions');
}

function formProblem(key, field) {
  const box = $('pfa-form-error');
  showProblem({ text: t(key) }, { into: box, fields: { opinion: 'pfa-opinion-group', conditions: 'pfa-conditions', reasons: 'pfa-reasons' } });
  const target = { opinion: opinionRadios()[0], conditions: $('pfa-conditions'), reasons: $('pfa-reasons') }[field];
  if (target) {
    if (field !== 'opinion') target.setAttribute('aria-invalid', 'true');
    target.focus();
  }
}

async function submitOpinion() {
  const c = state.caseDoc;
  const box = $('pfa-form-error');
  box.hidden = true;
  const chosen = opinionRadios().find((r) => r.checked);
  const draft = opinionRequest({ opinion: chosen ? chosen.value : '', conditions: $('pfa-conditions').value, reasons: $('pfa-reasons').value });
  if (draft.problem) {
    formProblem(draft.problem, draft.field);
    return null;
  }
  setBusy(true);
  try {
    const ids = [];
    for (const file of $('pfa-files').files || []) {
      ctx.showStatus(t('form.uploading', { name: file.name }), 'info');
      const form = new FormData();
      form.append('file', file, file.name);
      ids.push((await api(`${encodeURIComponent(c.id)}/attachments`, { method: 'POST', body: form })).id);
    }
    const { body } = opinionRequest({ opinion: chosen.value, conditions: $('pfa-conditions').value, reasons: $('pfa-reasons').value, attachments: ids });
    const result = await api(`${encodeURIComponent(c.id)}/opinions`, { method: 'POST', body });
    const history = await api(`${encodeURIComponent(c.id)}/history`);
    update({ caseDoc: result.case, history: history.history });
    render();
    const done = t('form.done', { opinion: t(`opinion.${result.opinion.opinion}`), n: result.opinion.revision });
    ctx.showStatus(done, 'success');
    ctx.announce(done);
    ctx.emit('opinion-submitted', opinionEvent(result));
    return result;
  } catch (error) {
    ctx.clearStatus();
    showProblem(error, { into: box, code: 'opinion_failed', fields: { conditions: 'pfa-conditions', reasons: 'pfa-reasons', attachments: 'pfa-files', file: 'pfa-files' } });
    return null;
  } finally {
    setBusy(false);
  }
}

function renderClose(c) {
  $('pfa-close-section').hidden = !c.caller.can_close;
  if (!c.caller.can_close) return;
  $('pfa-rule').textContent = t('close.rule', { rule: ruleText(c.outcome_rule, t) });
}

async function closeCase({ withdraw = false } = {}) {
  const c = state.caseDoc;
  const box = $('pfa-close-error');
  box.hidden = true;
  const reason = $('pfa-close-reason').value;
  if (withdraw && !reason.trim()) {
    showProblem({ text: t('withdraw.need_reason') }, { into: box });
    $('pfa-close-reason').setAttribute('aria-invalid', 'true');
    $('pfa-close-reason').focus();
    return;
  }
  setBusy(true);
  try {
    const path = `${encodeURIComponent(c.id)}/${withdraw ? 'withdraw' : 'close'}`;
    const body = withdraw ? { reason: reason.trim() } : closeRequest({ outcome: $('pfa-outcome').value, reason });
    const closed = await api(path, { method: 'POST', body });
    const history = await api(`${encodeURIComponent(c.id)}/history`);
    update({ caseDoc: closed, history: history.history });
    render();
    const done = t('close.done', { state: t(`state.${closed.state}`) });
    ctx.showStatus(done, 'success');
    ctx.announce(done);
    ctx.emit('case-closed', closedEvent(closed));
  } catch (error) {
    showProblem(error, { into: box, code: 'close_failed', fields: { reason: 'pfa-close-reason', state: 'pfa-outcome' } });
  } finally {
    setBusy(false);
  }
}

// --- the evidence -------------------------------------------------------------------------

function renderEvidence(evidence) {
  const report = evidence.compliance;
  $('pfa-verdict').replaceChildren(badge('pfa-badge', report.verdict, ITEM_ICONS[report.verdict] || '•', t('evidence.verdict', { verdict: localized(report.verdict_name, ctx.locale) || report.verdict })));
  $('pfa-frozen').textContent = t('evidence.frozen', { at: when(evidence.frozen_at), report: report.id, sha: state.caseDoc.evidence.sha256.slice(0, 16) });
  const study = evidence.pre_study;
  $('pfa-pre-study').hidden = !study;
  if (study) {
    const text = t('evidence.pre_study', { outcome: localized(study.outcome_name, ctx.locale) || study.outcome, at: when(study.studied_at) });
    $('pfa-pre-study').replaceChildren(badge('pfa-badge', study.outcome, PRE_STUDY_ICONS[study.outcome] || '•', text));
  }
  const items = report.items.map((item) => {
    const tr = el('tr');
    const name = el('th', null, localized(item.title, ctx.locale));
    name.scope = 'row';
    const result = el('td');
    result.append(badge('pfa-item', item.status, ITEM_ICONS[item.status] || '•', localized(item.status_name, ctx.locale) || item.status));
    tr.append(name, result, el('td', 'pfa-num', fmt(item.overlap_area_m2)), el('td', 'pfa-num', percentText(ctx.locale, item.overlap_ratio)));
    return tr;
  });
  $('pfa-items').replaceChildren(table(t('evidence.items'), [t('col.item'), t('col.result'), [t('col.area'), 'pfa-num'], [t('col.share'), 'pfa-num']], items, 'pfa-table'));
  const conflicts = evidence.conflicts;
  if (!conflicts.length) {
    $('pfa-conflicts').replaceChildren(el('p', 'pfa-none', t('evidence.no_conflicts')));
  } else {
    const rows = conflicts.map((c) => {
      const tr = el('tr');
      const cell = el('th');
      cell.scope = 'row';
      const button = el('button', 'pfa-link', `#${c.id}`);
      button.type = 'button';
      button.addEventListener('click', () => state.map && state.map.highlight('conflicts', `conflict:${c.id}`, { zoom: true }));
      cell.append(button);
      tr.append(cell, el('td', null, localized(c.type_name, ctx.locale)), el('td', 'pfa-num', fmt(c.overlap_area_m2)), el('td', 'pfa-num', percentText(ctx.locale, c.overlap_ratio)));
      return tr;
    });
    const caption = t('evidence.conflicts', { n: conflicts.length, area: `${fmt(evidence.conflicts_overlap_area_m2)} m²` });
    $('pfa-conflicts').replaceChildren(table(caption, [t('col.patch'), t('col.type'), [t('col.overlap'), 'pfa-num'], [t('col.share'), 'pfa-num']], rows, 'pfa-table'));
  }
  drawEvidence(evidence);
}

function drawEvidence(evidence) {
  if (!state.map) return;
  const overlays = evidenceOverlays(evidence);
  state.map.setOverlay('conflicts', overlays.conflicts, 'conflict');
  state.map.setOverlay('project', overlays.project, 'project');
  state.map.fitTo('project');
}

function renderHistory(history) {
  $('pfa-history').replaceChildren(...history.map((e) => el('li', null, historyLine(e, t, when))));
}

// --- print ---------------------------------------------------------------------------------

function renderPrint(c, evidence) {
  const meta = $('pfa-print-meta');
  meta.textContent = '';
  describe(meta, [
    [t('print.project'), `${c.project.name} (${c.project.id})`],
    [t('print.case'), c.id],
    [t('print.opened'), when(c.opened_at)],
    [t('print.due'), c.due],
    [t('print.state'), t(`state.${c.state}`)],
    [t('print.verdict'), localized(evidence.compliance.verdict_name, ctx.locale) || evidence.compliance.verdict],
    [t('print.evidence'), c.evidence.sha256],
  ]);
  $('pfa-print-signature').textContent = t('print.signature');
}

async function printCase() {
  if (state.map) {
    const image = await state.map.toImage();
    let img = $('pfa-print-map');
    if (!img) {
      img = el('img', 'pfa-print-map');
      img.id = 'pfa-print-map';
      $('pfa-map-section').prepend(img);
    }
    img.alt = t('map.legend.project');
    if (image) img.src = image;
  }
  window.print();
}

async function exportWorkbook() {
  const c = state.caseDoc;
  if (!c) return;
  try {
    const response = await api(`${encodeURIComponent(c.id)}/summary.xlsx`, { raw: true, query: { locale: ctx.locale } });
    saveBlob(await response.blob(), `${c.id}.xlsx`);
  } catch (error) {
    showProblem(error, { code: 'export_failed' });
  }
}

// --- choosing a case ----------------------------------------------------------------------

async function fillPicker() {
  $('pfa-picker').hidden = false;
  const select = $('pfa-case-select');
  select.replaceChildren(el('option', null, t('picker.loading')));
  const { cases } = await ctx.api('approvals', { query: { limit: 100 } });
  if (!cases.length) {
    select.replaceChildren(el('option', null, t('picker.none')));
    select.disabled = true;
    $('pfa-open').disabled = true;
    return;
  }
  select.replaceChildren(
    ...cases.map((c) => {
      const option = el('option', null, t('picker.option', { name: c.project.name, id: c.id, state: t(`state.${c.state}`) }));
      option.value = c.id;
      return option;
    }),
  );
}

function showLocks() {
  const locked = ctx.lockedParams || {};
  const notes = [];
  if (locked.case) notes.push(lockedNote(t('case.locked', { id: locked.case })));
  if (locked.department) notes.push(lockedNote(t('case.dept_locked', { dept: locked.department })));
  $('pfa-locks').replaceChildren(...notes);
}

// --- start ---------------------------------------------------------------------------------

widget.start({
  async init() {
    const { map } = await startMap($('pfa-map'), { layers: (catalogue) => layersOfKinds(catalogue, CONTEXT_KINDS), identify: true });
    update({ map });
    showLocks();
    for (const radio of opinionRadios()) radio.addEventListener('change', showConditions);
    $('pfa-form').addEventListener('submit', (event) => {
      event.preventDefault();
      submitOpinion();
    });
    $('pfa-close-form').addEventListener('submit', (event) => {
      event.preventDefault();
      closeCase();
    });
    $('pfa-withdraw').addEventListener('click', () => closeCase({ withdraw: true }));
    $('pfa-picker-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const id = $('pfa-case-select').value;
      if (isCaseId(id)) loadCase(id).catch(() => {});
    });
    $('pfa-print').addEventListener('click', () => printCase());
    $('pfa-xlsx').addEventListener('click', () => exportWorkbook());
    $('pfa-refresh').addEventListener('click', () => state.caseDoc && loadCase(state.caseDoc.id).catch(() => {}));
    const id = (ctx.lockedParams || {}).case || (ctx.params || {}).case;
    if (id) await loadCase(id).catch(() => {});
    else await fillPicker();
    $('pfa').setAttribute('aria-busy', 'false');
  },
  commands: {
    async 'open-case'(payload) {
      const id = (payload || {}).id;
      if (!isCaseId(id)) throw widget.invalidPayload('command.case_id');
      const locked = (ctx.lockedParams || {}).case;
      if (locked && locked !== id) throw Object.assign(new Error(t('command.locked_case', { id: locked })), { code: 'forbidden' });
      try {
        const c = await loadCase(id);
        ctx.focus($('pfa-title'));
        return { id: c.id, state: c.state, overdue: c.overdue };
      } catch (error) {
        throw Object.assign(new Error(error.detail || error.message), { code: error.code || 'not_found' });
      }
    },
  },
});
