import { describe, expect, it } from 'vitest';
import { barLayout, changeBody, chartBars, labelColumn, labelWidth, conflictFeatures, emptyFilters, ledgerTable, listQuery, missingFields, nextStatuses, pageRange, parseFilters, percent } from './model.js';

const choices = {
  analyses: { two_plans: ['03', '04'], three_lines: ['farmland_redline', 'farmland_boundary', 'redline_boundary'] },
  statuses: ['pending', 'coordinating', 'adjusted', 'kept'],
  districts: ['500103', '500112'],
};

describe('filters', () => {
  it('parses a filter command payload', () => {
    expect(parseFilters({ analysis: 'two_plans', type: '04', district: '500103', status: 'pending', min_area: 200, sliver: false }, choices)).toEqual({
      analysis: 'two_plans',
      type: '04',
      district: '500103',
      status: 'pending',
      min_area: '200',
      sliver: false,
    });
    expect(parseFilters({}, choices)).toEqual(emptyFilters());
  });

  it('refuses what it does not know', () => {
    for (const bad of [null, [], { colour: 'red' }, { analysis: 'x' }, { analysis: 'three_lines', type: '04' }, { status: 'done' }, { min_area: -1 }, { min_area: 'big' }, { sliver: 'yes' }, { district: '000000' }, { type: 4 }]) {
      expect(() => parseFilters(bad, choices)).toThrow();
    }
    try {
      parseFilters({ colour: 'red' }, choices);
    } catch (e) {
      expect(e.code).toBe('invalid_payload');
    }
  });

  it('builds the list query without empty filters', () => {
    expect(listQuery({ ...emptyFilters(), analysis: 'two_plans', min_area: '0' }, { limit: 20, offset: 40, locale: 'en' })).toEqual({ analysis: 'two_plans', min_area: '0', limit: '20', offset: '40', locale: 'en' });
    expect(listQuery({ ...emptyFilters(), sliver: true })).toEqual({ sliver: 'true', limit: '50' });
  });
});

describe('workflow', () => {
  it('offers only the allowed next statuses, none when obsolete', () => {
    expect(nextStatuses({ status: 'pending', current: true })).toEqual(['coordinating']);
    expect(nextStatuses({ status: 'coordinating', current: true })).toEqual(['adjusted', 'kept']);
    expect(nextStatuses({ status: 'kept', current: true })).toEqual([]);
    expect(nextStatuses({ status: 'pending', current: false })).toEqual([]);
  });

  it('sends a status with its companions only', () => {
    expect(changeBody({ status: 'adjusted', note: ' 改 ', plan_changed: 'urban_plan', reason: 'x', effective_date: '2026-12-01' })).toEqual({ status: 'adjusted', note: '改', plan_changed: 'urban_plan', effective_date: '2026-12-01' });
    expect(changeBody({ status: 'kept', note: 'n', reason: '已批', plan_changed: 'urban_plan' })).toEqual({ status: 'kept', note: 'n', reason: '已批' });
    expect(changeBody({ status: '', note: '补充' })).toEqual({ note: '补充' });
  });

  it('names the missing fields', () => {
    expect(missingFields({ status: 'coordinating' })).toEqual(['note']);
    expect(missingFields({ status: 'adjusted', note: 'n' })).toEqual(['plan_changed']);
    expect(missingFields({ status: 'kept', note: 'n' })).toEqual(['reason']);
    expect(missingFields({})).toEqual(['note']);
    expect(missingFields({ district_opinion: 'x' })).toEqual([]);
  });
});

describe('texts and geometry', () => {
  it('formats progress and page ranges', () => {
    expect(percent(0.456)).toBe('45%');
    expect(percent(2)).toBe('100%');
    expect(percent(undefined)).toBe('0%');
    expect(pageRange(50, 20, 70)).toEqual({ from: 51, to: 70, total: 70 });
    expect(pageRange(0, 0, 0)).toEqual({ from: 0, to: 0, total: 0 });
  });

  it('makes map features with string ids', () => {
    const fc = conflictFeatures([{ id: 7, type: '04', status: 'pending', area_m2: 1, geometry: { type: 'Polygon', coordinates: [] } }, { id: 8 }]);
    expect(fc.features.map((f) => f.id)).toEqual(['7']);
  });
});

const ledger = {
  by: 'district',
  groups: [{ key: 'R', name: '居住用地' }, { key: 'M', name: '工业用地' }],
  rows: [
    { district: '500103', district_name: '渝中区', group: 'R', area_ha: 3.0, count: 2 },
    { district: '500103', district_name: '渝中区', group: 'M', area_ha: 2.02, count: 2 },
    { district: '500112', district_name: '渝北区', group: 'R', area_ha: 1.0, count: 1 },
  ],
  subtotals: [
    { district: '500103', district_name: '渝中区', area_ha: 5.02, count: 4 },
    { district: '500112', district_name: '渝北区', area_ha: 1.0, count: 1 },
  ],
  group_totals: [{ group: 'R', area_ha: 4.0, count: 3 }, { group: 'M', area_ha: 2.02, count: 2 }],
  total: { area_ha: 6.02, count: 5 },
};

describe('ledger', () => {
  it('orders rows, subtotals and totals for printing', () => {
    expect(ledgerTable(ledger).map((r) => r.kind)).toEqual(['row', 'row', 'subtotal', 'row', 'subtotal', 'group_total', 'group_total', 'total']);
  });

  it('charts district subtotals, or one group, largest first', () => {
    expect(chartBars(ledger).map((b) => [b.label, b.value])).toEqual([['渝中区', 5.02], ['渝北区', 1.0]]);
    expect(chartBars(ledger, 'M').map((b) => [b.label, b.value])).toEqual([['渝中区', 2.02]]);
    const city = { by: 'city', rows: [{ group: 'R', group_name: '居住用地', area_ha: 4 }, { group: 'E', group_name: '非建设用地', area_ha: 0 }] };
    expect(chartBars(city).map((b) => b.key)).toEqual(['R']);
  });

  it('scales bars to the largest value', () => {
    const layout = barLayout([{ value: 10 }, { value: 5 }], { width: 300, labelWidth: 100, valueWidth: 100 });
    expect(layout.rows.map((r) => r.barWidth)).toEqual([100, 50]);
    expect(layout.height).toBe(44);
    expect(barLayout([]).rows).toEqual([]);
  });
});

describe('chart labels', () => {
  it('makes the label column wide enough for the longest county name', () => {
    expect(labelWidth('彭水苗族土家族自治县', 12)).toBe(120);
    expect(labelWidth('渝中区', 12)).toBe(36);
    const bars = [{ label: '渝中区' }, { label: '彭水苗族土家族自治县' }];
    const column = labelColumn(bars, { fontPx: 12 });
    expect(column.width).toBe(130);
    expect(column.labels).toEqual(['渝中区', '彭水苗族土家族自治县']);
    expect(labelColumn([{ label: '江北区' }]).width).toBe(60);
  });

  it('shortens only a label longer than the widest column', () => {
    const long = 'Pengshui Miao and Tujia Autonomous County of Chongqing Municipality';
    const column = labelColumn([{ label: long }], { fontPx: 12, max: 200 });
    expect(column.width).toBe(200);
    expect(column.labels[0].endsWith('…')).toBe(true);
    expect(labelWidth(column.labels[0], 12)).toBeLessThanOrEqual(190);
  });
});
