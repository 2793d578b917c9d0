import { describe, expect, it } from 'vitest';
import { closeRequest, closedEvent, conditionLines, evidenceOverlays, historyLine, isCaseId, opinionEvent, opinionRequest, ownDepartments, ruleText } from './model.js';

const t = (key, vars = {}) => `${key}${Object.keys(vars).length ? JSON.stringify(vars) : ''}`;

describe('the opinion request', () => {
  it('needs an opinion', () => {
    expect(opinionRequest({ opinion: '' })).toEqual({ problem: 'form.need_opinion', field: 'opinion' });
  });

  it('sends conditions one per line, only with agree_with_conditions', () => {
    expect(conditionLines(' 落实占补平衡 \n\n 水土保持 \r\n')).toEqual(['落实占补平衡', '水土保持']);
    expect(opinionRequest({ opinion: 'agree_with_conditions', conditions: '\n  \n' })).toEqual({ problem: 'form.need_conditions', field: 'conditions' });
    expect(opinionRequest({ opinion: 'agree_with_conditions', conditions: 'a\nb', attachments: ['att_1'] })).toEqual({
      body: { opinion: 'agree_with_conditions', conditions: ['a', 'b'], attachments: ['att_1'] },
    });
    // Conditions left in the box from an earlier choice are not sent with a plain agree.
    expect(opinionRequest({ opinion: 'agree', conditions: 'a' })).toEqual({ body: { opinion: 'agree' } });
  });

  it('needs reasons to disagree', () => {
    expect(opinionRequest({ opinion: 'disagree', reasons: '  ' })).toEqual({ problem: 'form.need_reasons', field: 'reasons' });
    expect(opinionRequest({ opinion: 'disagree', reasons: ' 占用水源地 ' })).toEqual({ body: { opinion: 'disagree', reasons: '占用水源地' } });
  });
});

describe('the evidence on the map', () => {
  it('draws the red line and every conflict patch with its overlap', () => {
    const square = { type: 'Polygon', coordinates: [[[106, 29], [106.1, 29], [106.1, 29.1], [106, 29]]] };
    const overlays = evidenceOverlays({
      project: { name: 'p', geometry: square },
      conflicts: [{ id: 7, analysis: 'two_plans', type: '04', overlap_area_m2: 5000, geometry: square }, { id: 8 }],
    });
    expect(overlays.project.features).toHaveLength(1);
    expect(overlays.project.features[0].id).toBe('project');
    expect(overlays.conflicts.features.map((f) => [f.id, f.properties.overlap_area_m2])).toEqual([['conflict:7', 5000]]);
    expect(evidenceOverlays(null).project.features).toEqual([]);
  });
});

describe('events and requests', () => {
  const caseDoc = { id: 'apv_1', state: 'open', departments: [{ dept: 'A' }, { dept: 'B' }], caller: { departments: ['B'] } };

  it('tells the host what was decided', () => {
    const result = { case: caseDoc, opinion: { dept: 'B', opinion: 'disagree', revision: 2, conditions: [] } };
    expect(opinionEvent(result)).toEqual({ case: 'apv_1', dept: 'B', opinion: 'disagree', revision: 2, conditions: [], state: 'open' });
    expect(closedEvent({ id: 'apv_1', state: 'closed_rejected', outcome: { rule_outcome: 'closed_rejected', overridden: false } })).toEqual({
      case: 'apv_1',
      state: 'closed_rejected',
      rule_outcome: 'closed_rejected',
      overridden: false,
    });
    expect(closedEvent({ id: 'apv_1', state: 'withdrawn', outcome: null })).toEqual({ case: 'apv_1', state: 'withdrawn', rule_outcome: null, overridden: false });
  });

  it('closes by the rule unless an outcome is chosen', () => {
    expect(closeRequest({ outcome: '', reason: ' ' })).toEqual({});
    expect(closeRequest({ outcome: 'closed_approved', reason: ' 会议决定 ' })).toEqual({ state: 'closed_approved', reason: '会议决定' });
  });

  it('knows the caller’s own departments and case ids', () => {
    expect(ownDepartments(caseDoc).map((d) => d.dept)).toEqual(['B']);
    expect(isCaseId('apv_0123456789abcdef0123')).toBe(true);
    expect(isCaseId('a b')).toBe(false);
    expect(isCaseId(42)).toBe(false);
    expect(isCaseId('x'.repeat(41))).toBe(false);
  });

  it('words the rule and the history', () => {
    expect(ruleText({ reject_if_any: ['disagree'], pending: 'block' }, t)).toContain('rule.pending.block');
    const when = (iso) => iso.slice(0, 10);
    expect(historyLine({ action: 'opinion', at: '2027-01-05T08:00:00+00:00', dept: 'B', opinion: 'agree', revision: 1, user_name: '王五' }, t, when)).toBe(
      'history.opinion{"at":"2027-01-05","dept":"B","opinion":"opinion.agree","n":1,"who":" · 王五"}',
    );
    expect(historyLine({ action: 'closed', at: '2027-01-06T00:00:00Z', state: 'closed_approved', note: 'x' }, t, when)).toContain('"note":" — x"');
    expect(historyLine({ action: 'opened', at: '2027-01-04T00:00:00Z' }, t, when)).toBe('history.opened{"at":"2027-01-04"}');
  });
});
