import { describe, expect, it } from 'vitest';
import { distinct, ganttRows, horizon, listQuery, projectId, projectOverlays, quotaTable, scheduleEvent, scheduleRequest, scheduleRows, selectedEvent } from './model.js';

const t = (key) => key;

const RESULT = {
  years: [2026, 2027],
  schedule: [
    { project_id: 2, year: 2026, name: 'B', district: '500107', priority: 4 },
    { project_id: 1, year: 2027, name: 'A', district: '500107', priority: 5 },
  ],
  unscheduled: [{ project_id: 3, reason: 'pre_study', message: 'not landable' }],
  idle_funds: [
    { project_id: 1, year: 2026, amount: 500, reason: 'later_start', message: 'quota' },
    { project_id: 3, year: 2027, amount: 70, reason: 'pre_study', message: 'not landable' },
  ],
  idle_funds_total: 570,
  quota_use: [
    { district: '500107', year: 2026, quota_m2: 100, used_m2: 100, remaining_m2: 0, projects: [2] },
    { district: '500107', year: 2027, quota_m2: 100, used_m2: 100, remaining_m2: 0, projects: [1] },
  ],
  objective: { priority_sum: 9, weighted_delay: 5, optimal: true, gap: 0 },
};
const PROJECTS = [
  { id: 1, name: 'A', funds: { 2026: 500, 2027: 500 }, district: '500107', priority: 5 },
  { id: 2, name: 'B', funds: { 2026: 800, 2027: 200 }, district: '500107', priority: 4 },
  { id: 3, name: 'C', funds: { 2027: 70 }, district: '500108', priority: 2 },
];

describe('ids and the list query', () => {
  it('reads project ids', () => {
    expect(projectId(7)).toBe(7);
    expect(projectId(' 12 ')).toBe(12);
    expect(projectId(0)).toBeNull();
    expect(projectId('x')).toBeNull();
    expect(projectId(1.5)).toBeNull();
  });

  it('leaves empty filters out', () => {
    expect(listQuery({ dept: 'transport', district: '', status: 'landable' })).toEqual({ limit: 1000, dept: 'transport', status: 'landable' });
    expect(distinct(PROJECTS, 'district')).toEqual(['500107', '500108']);
  });
});

describe('the schedule request', () => {
  it('spans the years and repeats the yearly quota and budget', () => {
    expect(horizon(2026, 2025)).toEqual({ problem: 'schedule.years_order' });
    expect(horizon('x', 2027)).toEqual({ problem: 'schedule.need_years' });
    const { body } = scheduleRequest({ from: '2026', to: '2027', quotas: { 500107: '100' }, budget: '50', projects: [1, 2] });
    expect(body).toEqual({
      years: [2026, 2027],
      quotas: { 500107: { 2026: 100, 2027: 100 } },
      budget: { 2026: 50, 2027: 50 },
      projects: [1, 2],
    });
    expect(scheduleRequest({ from: 2026, to: 2026, quotas: {}, budget: '', projects: [] }).body).toEqual({ years: [2026], quotas: {}, projects: 'all' });
  });

  it('names a bad quota or budget', () => {
    expect(scheduleRequest({ from: 2026, to: 2027, quotas: { 500107: '-1' }, budget: '' })).toEqual({ problem: 'schedule.need_quota', field: '500107' });
    expect(scheduleRequest({ from: 2026, to: 2027, quotas: {}, budget: 'x' })).toEqual({ problem: 'schedule.need_budget', field: 'budget' });
  });
});

describe('the Gantt chart', () => {
  it('marks the start, the funded years and the idle funds', () => {
    const rows = ganttRows(RESULT, PROJECTS);
    expect(rows.map((r) => [r.id, r.start])).toEqual([[2, 2026], [1, 2027], [3, null]]);
    expect(rows[0].cells.map((c) => c.kind)).toEqual(['start', 'funded']);
    expect(rows[1].cells.map((c) => c.kind)).toEqual(['idle', 'start']);
    expect(rows[1].cells[0]).toMatchObject({ amount: 500, reason: 'quota' });
    expect(rows[2].cells.map((c) => c.kind)).toEqual(['empty', 'idle']);
    expect(rows[2].reason).toBe('not landable');
  });

  it('groups the quota use by district', () => {
    expect(quotaTable(RESULT)).toEqual([{ district: '500107', years: RESULT.quota_use }]);
  });

  it('exports the schedule and the unscheduled with reasons', () => {
    const rows = scheduleRows(RESULT, PROJECTS, t);
    expect(rows[0][0]).toBe('csv.project_id');
    expect(rows.slice(1)).toEqual([
      [2, 'B', '500107', 4, 2026, ''],
      [1, 'A', '500107', 5, 2027, ''],
      [3, 'C', '500108', 2, '', 'not landable'],
    ]);
  });
});

describe('events and the map', () => {
  it('sends what the host needs', () => {
    expect(scheduleEvent(RESULT)).toEqual({
      years: [2026, 2027],
      schedule: [{ project_id: 2, year: 2026 }, { project_id: 1, year: 2027 }],
      unscheduled: [{ project_id: 3, reason: 'pre_study' }],
      priority_sum: 9,
      optimal: true,
      idle_funds_total: 570,
    });
    expect(selectedEvent({ id: 1, name: 'A', dept: 'transport', district: '500107', pre_study_status: null, funds: {} })).toEqual({
      id: 1, name: 'A', dept: 'transport', district: '500107', pre_study_status: null,
    });
  });

  it('draws the red line and the candidate sites', () => {
    const square = { type: 'Polygon', coordinates: [[[106, 29], [106.1, 29], [106.1, 29.1], [106, 29]]] };
    const none = projectOverlays({ id: 4, name: 'x', geometry: null, pre_study: { candidates: [{ feature_id: 9, rank: 1, outcome: 'landable', area_m2: 10, geometry: square }] } });
    expect(none.redLine.features).toEqual([]);
    expect(none.candidates.features[0]).toMatchObject({ id: 'candidate:9', properties: { rank: 1 } });
    const drawn = projectOverlays({ id: 4, name: 'x', geometry: square, pre_study: null });
    expect(drawn.redLine.features[0].id).toBe('project:4');
    expect(drawn.candidates.features).toEqual([]);
  });
});
