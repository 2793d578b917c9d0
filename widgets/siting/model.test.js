import { describe, expect, it } from 'vitest';
import { csvField } from '../common/export.js';
import * as modelExports from './model.js';
import { levelName, nameOf, rangeText, requestBody, stateFromRequest, weightSum } from './model.js';

const base = () => ({
  scopeMode: 'districts',
  districts: new Set(['500112', '500103']),
  geometry: null,
  landUse: '1001',
  areaMin: '8000',
  areaMax: 60000,
  controls: { urban_boundary: 'inside', ecological_redline: 'outside', basic_farmland: '', control_line: '' },
  proximity: [
    { kind: 'road', enabled: true, value: 'provincial', withinM: '2000', required: true },
    { kind: 'facility', enabled: false, value: '', withinM: 2000, required: false },
  ],
  exclude: [['geohazard', 'high'], ['heritage', null]],
  weights: { area_fit: 0.5, road_distance: 0.5 },
  limit: null,
  outputCrs: null,
});

describe('requestBody', () => {
  it('sends exactly what POST /siting/search takes', () => {
    expect(requestBody(base())).toEqual({
      scope: { districts: ['500103', '500112'] },
      land_use: '1001',
      area_min_m2: 8000,
      area_max_m2: 60000,
      controls: [
        { kind: 'urban_boundary', mode: 'inside' },
        { kind: 'ecological_redline', mode: 'outside' },
      ],
      proximity: [{ kind: 'road', class: 'provincial', within_m: 2000, required: true }],
      exclude: [
        { kind: 'sensitive_zone', type: 'geohazard', level: 'high' },
        { kind: 'sensitive_zone', type: 'heritage' },
      ],
      weights: { area_fit: 0.5, road_distance: 0.5 },
    });
  });

  it('leaves empty bounds out and scores a proximity without a distance', () => {
    const s = base();
    s.areaMin = '';
    s.areaMax = null;
    s.landUse = '';
    s.proximity[0].withinM = '';
    const body = requestBody(s);
    expect(body).not.toHaveProperty('area_min_m2');
    expect(body).not.toHaveProperty('area_max_m2');
    expect(body).not.toHaveProperty('land_use');
    expect(body.proximity).toEqual([{ kind: 'road', class: 'provincial', required: false }]);
  });

  it('sends a drawn scope in EPSG:4490 and the host CRS', () => {
    const s = base();
    s.scopeMode = 'geometry';
    s.geometry = { type: 'Polygon', coordinates: [[[106, 29], [107, 29], [107, 30], [106, 29]]] };
    s.outputCrs = 'EPSG:4524';
    const body = requestBody(s);
    expect(body.scope).toEqual({ geometry: s.geometry, crs: 'EPSG:4490' });
    expect(body.output_crs).toBe('EPSG:4524');
  });
});

describe('stateFromRequest', () => {
  it('round-trips a request through the form state', () => {
    const body = requestBody(base());
    const empty = { ...base(), districts: new Set(), landUse: '', controls: { urban_boundary: '', ecological_redline: '', basic_farmland: 'outside', control_line: '' }, exclude: [] };
    expect(requestBody(stateFromRequest(body, empty))).toEqual(body);
  });

  it('keeps what a partial request leaves out', () => {
    const s = stateFromRequest({ area_max_m2: 1000 }, base());
    expect(s.areaMax).toBe(1000);
    expect(s.landUse).toBe('1001');
    expect([...s.districts].sort()).toEqual(['500103', '500112']);
  });
});

describe('helpers', () => {
  it('sums weights without float noise', () => {
    expect(weightSum({ a: 0.1, b: 0.2, c: 0.7 })).toBe(1);
    expect(weightSum({ a: 0.5, b: '0.6' })).toBe(1.1);
  });
  it('names classes and levels, falling back to the code', () => {
    const table = [{ code: 'provincial', 'zh-CN': '省道', en: 'Provincial road' }];
    expect(nameOf(table, 'provincial', 'zh-CN')).toBe('省道');
    expect(nameOf(table, 'provincial', 'en')).toBe('Provincial road');
    expect(nameOf(table, 'lane', 'en')).toBe('lane');
    expect(levelName('high', 'zh-CN')).toBe('高');
    expect(levelName('9', 'en')).toBe('9');
  });
  it('describes the area range', () => {
    const t = (key, vars) => `${key}:${JSON.stringify(vars || {})}`;
    expect(rangeText(t, 'en', 8000, 60000)).toBe('req.range:{"min":"8,000","max":"60,000"}');
    expect(rangeText(t, 'en', null, 500)).toBe('req.max:{"max":"500"}');
    expect(rangeText(t, 'en', null, null)).toBe('req.any:{}');
  });
});

describe('candidatesCsv', () => {
  it('quotes fields, defuses formulas and lists each condition', () => {
    const { candidatesCsv } = modelExports;
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('-12.5')).toBe('-12.5');
    const csv = candidatesCsv(
      [
        {
          rank: 1,
          recommended: true,
          feature_id: 7,
          land_use: '1001',
          land_use_name: { 'zh-CN': '工业用地', en: 'Industrial land' },
          district: '500112',
          district_name: '渝北区',
          area_m2: 12345.67,
          score: 0.5,
          reasons: [
            { condition: 'area', value: 12345.67 },
            { condition: 'proximity', value: null },
          ],
        },
      ],
      { headers: ['rank', 'rec', 'id', 'code', 'class', 'district', 'area', 'score'], label: (r) => r.condition, recommendedText: '推荐' },
    );
    expect(csv).toBe('rank,rec,id,code,class,district,area,score,area,proximity\r\n1,推荐,7,1001,工业用地,渝北区,12345.67,0.5,12345.67,\r\n');
  });
});
