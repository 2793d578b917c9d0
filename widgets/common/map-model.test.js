import { describe, expect, it } from 'vitest';
import {
  CONTROL_LINE_TYPES,
  DEFAULT_VISIBLE_KINDS,
  FACILITY_TYPES,
  KIND_ORDER,
  LAND_USE_CLASSES,
  MAP_MESSAGES,
  SENSITIVE_ZONE_TYPES,
  basemapTemplate,
  describeAttributes,
  featureClass,
  formatArea,
  formatLength,
  landUseClass,
  legendItems,
  legendModel,
  mapTranslator,
  parseMapParams,
  styleSpec,
  unionBbox,
} from './map-model.js';
import { M2_PER_MU as MU_M2, toMu as m2ToMu } from './format.js';

const catalogue = [
  { id: 'districts', kind: 'district', name: '行政区划', department: '规划和自然资源局', bbox: [106.5, 29.5, 106.7, 29.6] },
  { id: 'farmland', kind: 'basic_farmland', name: '永久基本农田', department: '规划和自然资源局', bbox: [106.52, 29.54, 106.54, 29.56] },
  { id: 'landuse', kind: 'land_use_plan', name: '国土空间规划用地', department: '规划和自然资源局' },
  { id: 'roads', kind: 'road', name: '道路', department: '交通局', restricted: true },
  { id: 'odd', kind: 'something_new', name: '新图层' },
];

describe('styles by kind', () => {
  it('colours land use by its 用地用海 level-1 class, longer codes by prefix', () => {
    expect(landUseClass('0701')['zh-CN']).toBe('居住用地');
    expect(landUseClass('100101').code).toBe('10');
    expect(landUseClass('07').color).toBe('#FFFF2D');
    expect(landUseClass('99')).toBeNull();
    expect(styleSpec('land_use_plan', { code: '0701' }).fill).toBe('rgba(255,255,45,0.72)');
    expect(styleSpec('land_use_plan', { code: '0901' }).fill).toBe('rgba(255,0,0,0.72)');
    // Unknown or missing codes draw, grey, as unclassified — never as some other class.
    expect(featureClass('land_use_plan', { code: 'zz' }).code).toBe('');
    expect(styleSpec('land_use_plan', {}).key).toBe('land_use_plan||');
  });

  it('has the 24 level-1 classes with distinct codes and colours for 01–17', () => {
    expect(LAND_USE_CLASSES.map((c) => c.code)).toEqual(Array.from({ length: 24 }, (_, i) => String(i + 1).padStart(2, '0')));
    const land = LAND_USE_CLASSES.slice(0, 17).map((c) => c.color);
    expect(new Set(land).size).toBe(17);
  });

  it('tells control lines apart by dash as well as colour', () => {
    const specs = CONTROL_LINE_TYPES.map((t) => styleSpec('control_line', { type: t.code }));
    expect(new Set(specs.map((s) => s.stroke)).size).toBe(CONTROL_LINE_TYPES.length);
    expect(new Set(specs.map((s) => JSON.stringify(s.dash))).size).toBe(CONTROL_LINE_TYPES.length);
    expect(styleSpec('control_line', { type: 'blue' }).stroke).toBe('#1565C0');
  });

  it('hatches sensitive zones, stronger for the levels that fail a check', () => {
    for (const t of SENSITIVE_ZONE_TYPES) expect(styleSpec('sensitive_zone', { type: t.code }).hatch).toBeTruthy();
    const high = styleSpec('sensitive_zone', { type: 'geohazard', level: 'high' });
    const medium = styleSpec('sensitive_zone', { type: 'geohazard', level: 'medium' });
    expect(high.width).toBeGreaterThan(medium.width);
    expect(high.dash).toBeNull();
    expect(medium.dash).not.toBeNull();
    expect(high.key).not.toBe(medium.key);
  });

  it('draws the red line with a red outline, farmland dotted, the urban boundary purple', () => {
    expect(styleSpec('ecological_redline').stroke).toBe('#D50000');
    expect(styleSpec('basic_farmland').hatch).toBe('dots');
    const core = styleSpec('urban_boundary', { zone: '01' });
    const flexible = styleSpec('urban_boundary', { zone: '2' });
    expect(core.stroke).toBe('#A020F0');
    expect(core.dash).toBeNull();
    expect(flexible.dash).not.toBeNull();
  });

  it('draws roads by class with a casing, unknown classes as other roads', () => {
    const expressway = styleSpec('road', { class: 'expressway' });
    expect(expressway.casing.width).toBe(expressway.width + 2);
    expect(expressway.fill).toBeNull();
    expect(styleSpec('road', { class: 'footpath' }).key).toBe('road|other|');
    expect(styleSpec('road', { class: 'expressway' }).width).toBeGreaterThan(styleSpec('road', { class: 'county' }).width);
  });

  it('gives every facility type its own shape', () => {
    const shapes = FACILITY_TYPES.map((f) => styleSpec('facility', { type: f.code }).point.shape);
    expect(new Set(shapes).size).toBe(FACILITY_TYPES.length);
    expect(styleSpec('facility', { type: 'school' }).point.glyph).toBe('学');
  });

  it('labels districts by name and draws unknown kinds in a neutral style', () => {
    expect(styleSpec('district', { name: '渝中区' }).label).toBe('name');
    expect(styleSpec('no_such_kind').stroke).toBe('#546E7A');
  });
});

describe('legend model', () => {
  it('groups layers by kind, top of the map first, with the kind legend', () => {
    const groups = legendModel(catalogue.map((l) => ({ ...l, visible: l.kind === 'district' })), { locale: 'zh-CN' });
    expect(groups.map((g) => g.kind)).toEqual(['other', 'road', 'basic_farmland', 'land_use_plan', 'district']);
    const district = groups.find((g) => g.kind === 'district');
    expect(district.title).toBe('行政区');
    expect(district.layers).toEqual([{ id: 'districts', name: '行政区划', department: '规划和自然资源局', visible: true, restricted: false }]);
    expect(groups.find((g) => g.kind === 'road').layers[0].restricted).toBe(true);
    expect(groups.find((g) => g.kind === 'land_use_plan').items).toHaveLength(24);
  });

  it('speaks English when asked', () => {
    const groups = legendModel(catalogue, { locale: 'en' });
    expect(groups.find((g) => g.kind === 'basic_farmland').title).toBe('Permanent basic farmland');
    expect(legendItems('land_use_plan', 'en')[6].label).toBe('07 Residential');
  });

  it('shows each class with exactly the style its features get', () => {
    for (const kind of KIND_ORDER) {
      for (const item of legendItems(kind, 'zh-CN')) {
        const attr = { land_use_plan: 'code', land_use_status: 'code', urban_plan: 'code', land_plan: 'code', urban_boundary: 'zone', control_line: 'type', sensitive_zone: 'type', road: 'class', facility: 'type' }[kind];
        const props = attr ? { [attr]: item.code } : {};
        expect(item.swatch).toEqual(styleSpec(kind, props));
      }
    }
  });

  it('is empty for no layers', () => {
    expect(legendModel([])).toEqual([]);
    expect(legendModel(undefined)).toEqual([]);
  });
});

describe('measurement texts', () => {
  it('converts m² to 亩 at 10000/15 m² per 亩', () => {
    expect(MU_M2).toBeCloseTo(666.6667, 4);
    expect(m2ToMu(10000)).toBeCloseTo(15, 12);
    expect(m2ToMu(666.6666666666666)).toBeCloseTo(1, 12);
  });

  it('shows lengths in m below 1 km, then in km', () => {
    expect(formatLength(12.3456, 'zh-CN')).toEqual({ value_m: 12.3456, text: '12.35 m' });
    expect(formatLength(999.994, 'en').text).toBe('999.99 m');
    expect(formatLength(1000, 'en').text).toBe('1.000 km');
    expect(formatLength(12345.6, 'zh-CN').text).toBe('12.346 km');
    expect(formatLength(-3).value_m).toBe(0);
    expect(formatLength(Number.NaN).text).toBe('0.00 m');
  });

  it('shows areas in m² or km², always with 亩', () => {
    expect(formatArea(10000, 'zh-CN')).toEqual({ value_m2: 10000, mu: 15, text: '10,000.00 m²（15.00 亩）' });
    expect(formatArea(10000, 'en').text).toBe('10,000.00 m² (15.00 mu)');
    const big = formatArea(2_500_000, 'zh-CN');
    expect(big.text).toBe('2.5000 km²（3,750.00 亩）');
    expect(big.mu).toBeCloseTo(3750, 9);
    expect(formatArea(0).text).toBe('0.00 m²（0.00 亩）');
  });
});

describe('identify attributes', () => {
  it('lists known attributes first, class names after codes, the feature id last', () => {
    const rows = describeAttributes('land_use_plan', { fid: 7, zzz: 'x', code: '0701', name: '地块', district: '500103', layer: 'landuse' }, { locale: 'zh-CN', districtNames: new Map([['500103', '渝中区']]) });
    expect(rows.map((r) => r.key)).toEqual(['name', 'code', 'district', 'zzz', 'fid']);
    expect(rows.find((r) => r.key === 'code')).toEqual({ key: 'code', label: '分类代码', value: '0701 (居住用地)' });
    expect(rows.find((r) => r.key === 'district').value).toBe('渝中区 (500103)');
    expect(rows.at(-1)).toEqual({ key: 'fid', label: '要素编号', value: '7' });
  });

  it('keeps markup as plain text for the panel to write as text', () => {
    const name = '<script>alert(1)</script><b>x</b>';
    const [row] = describeAttributes('district', { name });
    expect(row.value).toBe(name);
  });

  it('names types of control lines, zones and roads in the locale', () => {
    expect(describeAttributes('control_line', { type: 'purple' }, { locale: 'en' })[0].value).toBe('purple (Purple line (heritage))');
    expect(describeAttributes('road', { class: 'expressway' })[0]).toEqual({ key: 'class', label: '等级', value: 'expressway (高速公路)' });
    expect(describeAttributes('road', { class: 'lane' })[0].value).toBe('lane');
    expect(describeAttributes('facility', { type: 'hospital', nested: { a: 1 }, empty: null })).toHaveLength(1);
  });
});

describe('parameters', () => {
  it('offers every layer and shows the base and 三线 kinds by default', () => {
    const s = parseMapParams({}, catalogue);
    expect(s.layers.map((l) => l.id)).toEqual(catalogue.map((l) => l.id));
    expect(s.layers.filter((l) => l.visible).map((l) => l.kind)).toEqual(['district', 'basic_farmland']);
    expect(DEFAULT_VISIBLE_KINDS).toContain('ecological_redline');
    expect(s.problems).toEqual([]);
    expect(s.basemap).toBe(true);
    expect(s.center).toBeNull();
    expect(s.zoom).toBeNull();
  });

  it('keeps the order of `layers`, reports unknown ids and ignores them', () => {
    const s = parseMapParams({ layers: ['roads', 'nope', 'districts'], visible: ['roads', 'farmland'] }, catalogue);
    expect(s.layers.map((l) => [l.id, l.visible])).toEqual([
      ['roads', true],
      ['districts', false],
    ]);
    expect(s.problems.map((p) => p.param)).toEqual(['layers', 'visible']);
    expect(s.problems[0].message).toContain('nope');
  });

  it('checks the view parameters', () => {
    expect(parseMapParams({ center: [106.5, 29.5], zoom: 12 }, []).center).toEqual([106.5, 29.5]);
    const bad = parseMapParams({ center: [200, 29.5], zoom: 25, district: 'yuzhong', layers: 'roads', basemap: false }, catalogue);
    expect(bad.problems.map((p) => p.param).sort()).toEqual(['center', 'district', 'layers', 'zoom']);
    expect(bad.basemap).toBe(false);
    expect(bad.layers).toHaveLength(catalogue.length);
    expect(parseMapParams({ district: '500103' }, []).district).toBe('500103');
  });

  it('accepts only http(s) XYZ templates as the basemap', () => {
    expect(basemapTemplate('https://t{0-7}.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}&y={y}&l={z}')).toBeTruthy();
    expect(basemapTemplate('http://127.0.0.1:8080/{z}/{x}/{-y}.png')).toBeTruthy();
    expect(basemapTemplate('https://example.org/tiles/{z}/{x}.png')).toBeNull();
    expect(basemapTemplate('javascript:alert(1)//{z}{x}{y}')).toBeNull();
    expect(basemapTemplate('')).toBeNull();
    expect(basemapTemplate(null)).toBeNull();
  });

  it('unites bounding boxes, skipping missing ones', () => {
    expect(unionBbox([[1, 2, 3, 4], null, [0, 3, 2, 5]])).toEqual([0, 2, 3, 5]);
    expect(unionBbox([])).toBeNull();
  });
});

describe('texts', () => {
  it('has every map text in both locales', () => {
    expect(Object.keys(MAP_MESSAGES.en).sort()).toEqual(Object.keys(MAP_MESSAGES['zh-CN']).sort());
  });

  it('fills placeholders and falls back to zh-CN', () => {
    const t = mapTranslator('en');
    expect(t('map.measure_result_distance', { text: '1.00 m' })).toBe('Distance: 1.00 m');
    expect(mapTranslator('fr')('map.close')).toBe('关闭');
    expect(t('map.no_such_key')).toBe('map.no_such_key');
  });
});
