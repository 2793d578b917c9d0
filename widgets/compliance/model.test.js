import { describe, expect, it } from 'vitest';
import { M2_PER_MU, localized, toMu } from '../common/format.js';
import { CRS_OPTIONS, checkBody, geodesicAreaM2, itemOverlay, resultPayload } from './model.js';

const report = {
  id: 'cr_1',
  verdict: 'fail',
  project_area_m2: 20000,
  project: { id: 'prj_1', name: 'x' },
  land_use: { code: '0701' },
  project_type: 'urban',
  signature: { jws: 'a.b.c', kid: 'k1', jwks_url: '/api/v1/compliance/jwks.json' },
  items: [
    {
      rule: 'basic_farmland',
      status: 'fail',
      overlap_area_m2: 10000,
      overlap_ratio: 0.5,
      feature_count: 2,
      features: [
        { layer: 'f', fid: 1, counted: true, overlap_area_m2: 9000, geometry: { type: 'Polygon', coordinates: [] } },
        { layer: 'f', fid: 2, counted: false, overlap_area_m2: 1000, geometry: { type: 'Polygon', coordinates: [] } },
      ],
    },
  ],
};

describe('compliance model', () => {
  it('converts m² to 亩 (1 亩 = 666.67 m²)', () => {
    expect(M2_PER_MU).toBeCloseTo(666.6667, 3);
    expect(toMu(10000)).toBeCloseTo(15, 10);
  });

  it('picks the localised text with zh-CN as the fallback', () => {
    expect(localized({ 'zh-CN': '通过', en: 'Pass' }, 'en')).toBe('Pass');
    expect(localized({ 'zh-CN': '通过' }, 'en')).toBe('通过');
    expect(localized(null, 'en')).toBe('');
  });

  it('builds the result event without geometry', () => {
    const payload = resultPayload(report, 'https://planfuse.example.gov.cn/embed/compliance?app=a');
    expect(payload).toEqual({
      report_id: 'cr_1',
      verdict: 'fail',
      project_area_m2: 20000,
      project_id: 'prj_1',
      land_use: '0701',
      project_type: 'urban',
      items: [{ rule: 'basic_farmland', status: 'fail', overlap_area_m2: 10000, overlap_ratio: 0.5, feature_count: 2 }],
      signed_result: 'a.b.c',
      signature_kid: 'k1',
      jwks_url: 'https://planfuse.example.gov.cn/api/v1/compliance/jwks.json',
    });
    expect(JSON.stringify(payload)).not.toContain('coordinates');
  });

  it('shows the counted pieces of an item, or the part outside the urban boundary', () => {
    const overlay = itemOverlay(report.items[0]);
    expect(overlay.features.map((f) => f.id)).toEqual(['f:1']);
    const urban = { rule: 'urban_boundary', features: [], details: { outside_geometry: { type: 'Polygon', coordinates: [] } } };
    expect(itemOverlay(urban).features[0].id).toBe('outside');
    const info = { rule: 'sensitive_zone', features: [{ layer: 's', fid: 3, counted: false, geometry: {} }] };
    expect(itemOverlay(info).features.map((f) => f.id)).toEqual(['s:3']);
  });

  it('sends nothing but repair for a locked project', () => {
    expect(checkBody({ locked: true, geometry: 'x' })).toEqual({});
    expect(checkBody({ locked: true, repair: true })).toEqual({ repair: true });
    expect(checkBody({ locked: false, geometry: 'J1,1,2', crs: 'EPSG:4523', landUse: '0701', projectType: 'urban', ruleset: null, repair: false })).toEqual({
      geometry: 'J1,1,2',
      crs: 'EPSG:4523',
      land_use: '0701',
      project_type: 'urban',
    });
  });

  it("lists Chongqing's Gauss–Krüger zones first", () => {
    expect(CRS_OPTIONS.slice(0, 6).map((o) => o.value)).toEqual(['EPSG:4523', 'EPSG:4524', 'EPSG:4525', 'EPSG:4544', 'EPSG:4545', 'EPSG:4546']);
    expect(CRS_OPTIONS.map((o) => o.value)).toContain('GCJ-02');
  });

  it('estimates a drawn polygon area for the preview', () => {
    // ~0.001° × 0.001° at 29.6°N: 96.8 m × 110.9 m ≈ 10,700 m² (spherical estimate).
    const square = { type: 'Polygon', coordinates: [[[106.5, 29.6], [106.501, 29.6], [106.501, 29.601], [106.5, 29.601], [106.5, 29.6]]] };
    expect(geodesicAreaM2(square)).toBeGreaterThan(10500);
    expect(geodesicAreaM2(square)).toBeLessThan(10900);
  });
});
