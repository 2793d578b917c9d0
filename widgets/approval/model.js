// The approval widget's pure logic (no DOM): the opinion request from the form, the map
// overlays of the frozen evidence, the events for the host, the outcome rule in words, the
// history lines. Unit-tested in model.test.js.

export const OPINIONS = ['agree', 'agree_with_conditions', 'disagree'];
export const STATES = ['open', 'closed_approved', 'closed_rejected', 'withdrawn'];
/** Opinion and state → the symbol shown beside its text (never colour alone). */
export const OPINION_ICONS = { agree: '✔', agree_with_conditions: '◆', disagree: '✖', pending: '…' };
export const STATE_ICONS = { open: '…', closed_approved: '✔', closed_rejected: '✖', withdrawn: '↩' };
/** What a case id looks like (the server's `apv_` + 20 hex digits; at most 40 characters). */
const CASE_ID = /^[A-Za-z0-9_-]{1,40}$/;

export function isCaseId(value) {
  return typeof value === 'string' && CASE_ID.test(value);
}

/** The conditions typed one per line: trimmed, empty lines dropped. */
export function conditionLines(text) {
  return String(text || '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

/**
 * The opinion request from the form's values, or the problem to show first:
 * {body} or {problem: message key, field}. Mirrors the server's checks so the user hears
 * about a missing condition or reason before anything is uploaded.
 */
export function opinionRequest({ opinion, conditions, reasons, attachments = [] }) {
  if (!OPINIONS.includes(opinion)) return { problem: 'form.need_opinion', field: 'opinion' };
  const lines = opinion === 'agree_with_conditions' ? conditionLines(conditions) : [];
  const why = String(reasons || '').trim();
  if (opinion === 'agree_with_conditions' && !lines.length) return { problem: 'form.need_conditions', field: 'conditions' };
  if (opinion === 'disagree' && !why) return { problem: 'form.need_reasons', field: 'reasons' };
  const body = { opinion };
  if (lines.length) body.conditions = lines;
  if (why) body.reasons = why;
  if (attachments.length) body.attachments = [...attachments];
  return { body };
}

/** The map overlays of the frozen evidence: the red line, and the conflict patches. */
export function evidenceOverlays(evidence) {
  const project = evidence && evidence.project;
  const red = project && project.geometry ? [{ type: 'Feature', id: 'project', geometry: project.geometry, properties: { id: 'project', name: project.name } }] : [];
  const conflicts = ((evidence && evidence.conflicts) || [])
    .filter((c) => c.geometry)
    .map((c) => ({
      type: 'Feature',
      id: `conflict:${c.id}`,
      geometry: c.geometry,
      properties: { id: c.id, analysis: c.analysis, type: c.type, overlap_area_m2: c.overlap_area_m2 },
    }));
  return { project: { type: 'FeatureCollection', features: red }, conflicts: { type: 'FeatureCollection', features: conflicts } };
}

/** The `opinion-submitted` event: what a host acts on. */
export function opinionEvent(result) {
  const o = result.opinion;
  return { case: result.case.id, dept: o.dept, opinion: o.opinion, revision: o.revision, conditions: [...(o.conditions || [])], state: result.case.state };
}

/** The `case-closed` event. */
export function closedEvent(caseDoc) {
  const outcome = caseDoc.outcome || {};
  return { case: caseDoc.id, state: caseDoc.state, rule_outcome: outcome.rule_outcome ?? null, overridden: Boolean(outcome.overridden) };
}

/** The close request: the rule decides unless an outcome is chosen; a reason when given. */
export function closeRequest({ outcome, reason }) {
  const body = {};
  if (outcome) body.state = outcome;
  const why = String(reason || '').trim();
  if (why) body.reason = why;
  return body;
}

/** The outcome rule in words (`t` is the widget's translator). */
export function ruleText(rule, t) {
  const reject = (rule.reject_if_any || []).map((o) => t(`opinion.${o}`)).join(' / ') || '—';
  return t('rule.text', { reject, pending: t(`rule.pending.${rule.pending || 'block'}`) });
}

/** One line of the case's history. `when(iso)` formats a time. */
export function historyLine(event, t, when) {
  const at = when(event.at);
  const note = event.note ? ` — ${event.note}` : '';
  if (event.action === 'opinion') {
    const who = event.user_name || event.user ? ` · ${event.user_name || event.user}` : '';
    return t('history.opinion', { at, dept: event.dept, opinion: t(`opinion.${event.opinion}`), n: event.revision, who });
  }
  if (event.action === 'closed') return t('history.closed', { at, state: t(`state.${event.state}`), note });
  if (event.action === 'withdrawn') return t('history.withdrawn', { at, note });
  if (event.action === 'overdue') return t('history.overdue', { at, dept: event.dept || '' });
  return t('history.opened', { at });
}

/** The departments whose opinion the caller gives here (the case says which). */
export function ownDepartments(caseDoc) {
  const mine = new Set((caseDoc.caller && caseDoc.caller.departments) || []);
  return caseDoc.departments.filter((d) => mine.has(d.dept));
}
