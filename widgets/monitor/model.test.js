import { describe, expect, it } from 'vitest';
import {
  STATUSES,
  axisText,
  STATUS_ICONS,
  changeEvent,
  changeFeatures,
  changeStyle,
  changesCsvRows,
  changesGeoJSON,
  chartModel,
  districtFeatures,
  districtStyle,
  indicatorEvent,
  linearScale,
  niceTicks,
  parseFeatureId,
  parseIndicatorId,
  parseYear,
  pickIndicator,
  pickYear,
  ratioText,
  seriesQuery,
  statusColour,
  statusCounts,
  valueText,
  valuesCsvRows,
  valuesGeoJSON,
  valuesQuery,
  withDetail,
  cardsQuery,
} from './model.js';

const t = (key) => key;
const SQUARE = { type: 'Polygon', coordinates: [[[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.5]]] };
const SHAPES = {
  type: 'FeatureCollection',
  features: [
    { type: 'Feature', id: 1, geometry: SQUARE, properties: { adcode: '500112', name: '渝北区', district: '500112' } },
    { type: 'Feature', id: 2, geometry: SQUARE, properties: { adcode: '500117', name: '合川区', district: '500117' } },
    { type: 'Feature', id: 3, geometry: SQUARE, properties: { adcode: '500999', name: '无数据区' } },
  ],
};
const ROWS = [
  { area: '500112', name: '渝北区', value: 708848651.62, unit: 'm2', target: 746156462, target_year: 2025, ratio: 0.95, status: 'warning' },
  { area: '500117', name: '合川区', value: 960, unit: 'ha', target: 1000, target_year: 2025, ratio: 0.96, status: 'below_target' },
];
const CHANGE = { id: '2025-new_construction-1-1-basic_farmland', type: 'new_construction', on: 'basic_farmland', district: '500115', area_m2: 12345, from_code: '0101', to_code: '1001', layer: 'land_use_status', feature_id: 1, geometry: SQUARE };

describe('status colours and symbols', () => {
  it('gives every status its own colours, symbol and a hatch for the warnings', () => {
    const strokes = new Set(STATUSES.filter((s) => s !== 'no_data').map((s) => statusColour(s).stroke));
    expect(statusColour('warning').fill).toMatch(/^rgba\(255,179,0/);
    expect(statusColour('exceeded').stroke).toBe('#b71c1c');
    expect(statusColour('below_target').stroke).toBe('#6a1b9a');
    expect(statusColour('normal').hatch).toBeNull();
    expect(['warning', 'exceeded', 'below_target'].map((s) => statusColour(s).hatch)).toEqual(['diagonal', 'cross', 'horizontal']);
    expect(strokes.size).toBeGreaterThanOrEqual(4);
    for (const status of STATUSES) expect(STATUS_ICONS[status]).toBeTruthy();
  });

  it('shows an unknown status as no data', () => {
    expect(statusColour('moon')).toEqual(statusColour('no_data'));
  });

  it('shades a district by its status and labels it by name', () => {
    expect(districtStyle({ status: 'warning' })).toMatchObject({ stroke: '#8a5300', hatch: 'diagonal', label: 'name' });
    expect(districtStyle({ status: 'below_target' }).fill).toBe(statusColour('below_target').fill);
    expect(changeStyle({ on: 'basic_farmland' }).stroke).toBe('#b71c1c');
    expect(changeStyle({ on: null }).stroke).toBe('#0b5cad');
  });

  it('counts statuses', () => {
    expect(statusCounts(ROWS)).toEqual({ normal: 0, warning: 1, exceeded: 0, below_target: 1, no_target: 0, no_data: 0 });
  });
});

describe('values in their units', () => {
  it('formats areas, ratios and counts by locale', () => {
    expect(valueText(708848651.62, 'm2', 'en')).toBe('708,848,652 m²');
    expect(valueText(1234.5, 'ha', 'zh-CN')).toBe('1,234.50 公顷');
    expect(valueText(1234.5, 'ha', 'en')).toBe('1,234.50 ha');
    expect(valueText(37.5, 'percent', 'en')).toBe('37.50%');
    expect(valueText(12, 'count', 'en')).toBe('12');
    expect(valueText(null, 'm2', 'en')).toBe('—');
    expect(ratioText(0.95, 'en')).toBe('95.0%');
    expect(axisText(750000000, 'en')).toBe('750M');
    expect(axisText(750000000, 'zh-CN')).toBe('7.5亿');
    expect(axisText(35.5, 'en')).toBe('35.5');
    expect(axisText(NaN, 'en')).toBe('');
    expect(ratioText(1.04, 'zh-CN')).toBe('104.0%');
    expect(ratioText(null, 'en')).toBe('—');
  });
});

describe('host payloads and choices', () => {
  it('reads years and indicator ids', () => {
    expect(parseYear(2025)).toBe(2025);
    expect(parseYear(' 2024 ')).toBe(2024);
    expect(parseYear(2025.5)).toBeNull();
    expect(parseYear('twenty')).toBeNull();
    expect(parseYear(25)).toBeNull();
    expect(parseIndicatorId(' farmland ')).toBe('farmland');
    expect(parseIndicatorId(7)).toBeNull();
    expect(parseIndicatorId('a b')).toBeNull();
  });

  it('picks the wanted year and indicator, else the latest year and the first indicator', () => {
    expect(pickYear([2021, 2022, 2025], 2022)).toBe(2022);
    expect(pickYear([2021, 2022, 2025], 2019)).toBe(2025);
    expect(pickYear([], 2025)).toBeNull();
    const indicators = [{ id: 'basic_farmland_area' }, { id: 'farmland' }];
    expect(pickIndicator(indicators, 'farmland')).toBe('farmland');
    expect(pickIndicator(indicators, undefined)).toBe('basic_farmland_area');
    expect(pickIndicator([], 'farmland')).toBeNull();
  });

  it('asks for the city, one district or every district', () => {
    expect(valuesQuery('farmland', 2025, 'city')).toEqual({ indicator: 'farmland', year: 2025, by: 'city' });
    expect(valuesQuery('farmland', 2025, '500117')).toEqual({ indicator: 'farmland', year: 2025, district: '500117' });
    expect(valuesQuery('farmland', 2025, 'districts')).toEqual({ indicator: 'farmland', year: 2025, by: 'district' });
    expect(seriesQuery('farmland', [2021, 2023, 2025], 'city')).toEqual({ indicator: 'farmland', from: 2021, to: 2025, by: 'city' });
    expect(seriesQuery('farmland', [2021, 2025], '500112')).toEqual({ indicator: 'farmland', from: 2021, to: 2025, district: '500112' });
  });
});

describe('the series chart', () => {
  it('picks round ticks that span the values', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(630, 835, 4)).toEqual([600, 700, 800, 900]);
    expect(niceTicks(630, 835, 8)).toEqual([600, 650, 700, 750, 800, 850]);
    const flat = niceTicks(50, 50, 4);
    expect(flat[0]).toBeLessThan(50);
    expect(flat[flat.length - 1]).toBeGreaterThan(50);
    expect(niceTicks(NaN, 1)).toEqual([]);
  });

  it('scales linearly, a flat domain to the middle', () => {
    const y = linearScale([0, 100], [200, 0]);
    expect(y(0)).toBe(200);
    expect(y(25)).toBe(150);
    expect(linearScale([5, 5], [0, 10])(5)).toBe(5);
  });

  it('plots the values by year and the target as steps, inside the plot box', () => {
    const points = [
      { year: 2021, value: 630, target: 750, status: 'normal' },
      { year: 2022, value: 700, target: 750, status: 'warning' },
      { year: 2023, value: 740, target: 800, status: 'warning' },
    ];
    const m = chartModel(points, { width: 400, height: 200, pad: { top: 10, right: 10, bottom: 20, left: 50 } });
    expect(m.points.map((p) => p.x)).toEqual([50, 220, 390]);
    expect(m.points.map((p) => p.year)).toEqual([2021, 2022, 2023]);
    // Higher values draw higher (smaller y); all inside the box.
    expect(m.points[0].y).toBeGreaterThan(m.points[2].y);
    for (const p of m.points) expect(p.y >= m.box.top && p.y <= m.box.bottom).toBe(true);
    expect(m.line.startsWith('M50,')).toBe(true);
    expect(m.line.split('L')).toHaveLength(3);
    // The target: level at 750 from 2021 to 2023's x, then 800.
    const y750 = m.ticks.find((tk) => tk.value === 750);
    expect(m.targetLine).toContain(`M50,${y750.y} L220,${y750.y}`);
    expect(m.ticks[0].value).toBeLessThanOrEqual(630);
    expect(m.ticks[m.ticks.length - 1].value).toBeGreaterThanOrEqual(800);
    expect(m.labels.map((l) => l.year)).toEqual([2021, 2022, 2023]);
  });

  it('draws nothing without values, and a lone target across the box', () => {
    expect(chartModel([]).line).toBe('');
    const lone = chartModel([{ year: 2025, value: 10, target: 20, status: 'normal' }], { width: 300, height: 100, pad: { top: 0, right: 0, bottom: 0, left: 0 } });
    expect(lone.points).toHaveLength(1);
    expect(lone.targetLine).toMatch(/^M0,[\d.]+ L300,[\d.]+$/);
  });
});

describe('the map', () => {
  it('shades the districts that have a row, with their figures', () => {
    const shaded = districtFeatures(SHAPES, ROWS);
    expect(shaded.features.map((f) => f.id)).toEqual(['district:500112', 'district:500117']);
    expect(shaded.features[0].properties).toMatchObject({ adcode: '500112', name: '渝北区', status: 'warning', ratio: 0.95 });
    expect(districtFeatures(SHAPES, ROWS, '500117').features.map((f) => f.properties.status)).toEqual(['below_target']);
    expect(districtFeatures(null, ROWS).features).toEqual([]);
  });

  it('draws the change pieces and reads feature ids back', () => {
    const drawn = changeFeatures([CHANGE, { ...CHANGE, id: 'x', geometry: null }]);
    expect(drawn.features).toHaveLength(1);
    expect(drawn.features[0].id).toBe(`change:${CHANGE.id}`);
    expect(parseFeatureId(`change:${CHANGE.id}`)).toEqual({ kind: 'change', id: CHANGE.id });
    expect(parseFeatureId('district:500112')).toEqual({ kind: 'district', id: '500112' });
    expect(parseFeatureId('candidate:1')).toBeNull();
    expect(parseFeatureId('plain')).toBeNull();
  });
});

describe('events and exports', () => {
  it('describes the chosen indicator and change', () => {
    const indicator = { id: 'construction_land', name: { 'zh-CN': '建设用地总规模', en: 'Construction land' }, unit: 'm2' };
    expect(indicatorEvent(indicator, ROWS[0], { year: 2025, area: '500112', locale: 'en' })).toEqual({ id: 'construction_land', name: 'Construction land', year: 2025, area: '500112', value: 708848651.62, target: 746156462, ratio: 0.95, status: 'warning' });
    expect(indicatorEvent(indicator, null, { year: 2025, area: 'city', locale: 'zh-CN' })).toMatchObject({ name: '建设用地总规模', value: null, status: 'no_data' });
    expect(changeEvent(CHANGE, 2025)).toEqual({ id: CHANGE.id, year: 2025, type: 'new_construction', on: 'basic_farmland', district: '500115', area_m2: 12345, from_code: '0101', to_code: '1001' });
  });

  it('exports values and changes as CSV rows and GeoJSON', () => {
    const indicator = { id: 'construction_land', unit: 'm2' };
    const rows = valuesCsvRows(indicator, 2025, ROWS, t);
    expect(rows[0][0]).toBe('csv.indicator');
    expect(rows[1]).toEqual(['construction_land', 2025, '500112', '渝北区', 708848651.62, 'm2', 746156462, 2025, 0.95, 'warning']);
    const changes = changesCsvRows([CHANGE, { ...CHANGE, id: 'b', on: null }], 2025, t);
    expect(changes).toHaveLength(3);
    expect(changes[2][3]).toBe('');
    const geo = changesGeoJSON([CHANGE], 2025);
    expect(geo.features[0]).toMatchObject({ id: CHANGE.id, geometry: SQUARE, properties: { year: 2025, on: 'basic_farmland', area_m2: 12345 } });
    const districts = valuesGeoJSON(districtFeatures(SHAPES, ROWS), indicator, 2025);
    expect(districts.features.map((f) => f.id)).toEqual(['500112', '500117']);
    expect(districts.features[0].properties).toMatchObject({ indicator: 'construction_land', unit: 'm2', year: 2025, status: 'warning' });
  });
});

describe('withDetail', () => {
  const square = (x) => ({ type: 'Polygon', coordinates: [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 0]]] });
  const coarse = {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', id: 1, geometry: square(0), properties: { adcode: '500101' } },
      { type: 'Feature', id: 2, geometry: square(5), properties: { adcode: '500103' } },
    ],
  };
  it('replaces the districts the finer read holds and keeps the order and the rest', () => {
    const fine = { type: 'FeatureCollection', features: [{ type: 'Feature', id: 2, geometry: square(9), properties: { adcode: '500103' } }] };
    const merged = withDetail(coarse, fine);
    expect(merged.features.map((f) => f.properties.adcode)).toEqual(['500101', '500103']);
    expect(merged.features[0].geometry).toEqual(square(0));
    expect(merged.features[1].geometry).toEqual(square(9));
    expect(coarse.features[1].geometry).toEqual(square(5));
  });
  it('keeps everything when the finer read is empty, and takes it when there was none', () => {
    expect(withDetail(coarse, { features: [] }).features).toEqual(coarse.features);
    const fine = { type: 'FeatureCollection', features: [] };
    expect(withDetail(null, fine)).toBe(fine);
  });
});

describe('cardsQuery', () => {
  it('asks for every card in one call, for the city or one district', () => {
    expect(cardsQuery(['a', 'b'], 2025, 'city')).toEqual({ indicators: 'a,b', year: 2025, by: 'city' });
    expect(cardsQuery(['a'], 2024, '500112')).toEqual({ indicators: 'a', year: 2024, district: '500112' });
  });
});
