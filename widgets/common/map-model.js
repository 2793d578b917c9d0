// The map's pure half: what every layer kind looks like, the legend, measurement texts,
// attribute labels and parameter parsing. No OpenLayers and no DOM here, so all of it is
// unit-tested in Node (widgets/common/map-model.test.js); map.js turns these plain style
// specs into OpenLayers styles.

import { formatNumber, toMu } from './format.js';
import { translator } from './i18n.js';

/** Highest zoom of PlanFuse's vector tiles (TileJSON `maxzoom`); the map overzooms beyond. */
export const TILE_MAX_ZOOM = 16;
/** Deepest zoom the view allows (about 2.4 m across a 1000-pixel map at 30°N). */
export const VIEW_MAX_ZOOM = 20;
/** Below this a length is shown in metres, from here on in kilometres. */
const KM_FROM_M = 1000;
/** Below this an area is shown in m², from here on in km². */
const KM2_FROM_M2 = 1_000_000;
/** Chongqing's centre (解放碑), where a map with no layers and no parameters opens. */
export const DEFAULT_CENTER = [106.577, 29.557];
export const DEFAULT_ZOOM = 9;

// --- layer kinds and their classes --------------------------------------------------------

/** Layer kinds in drawing order, bottom first; DOMAIN.md "Layer kinds". */
export const KIND_ORDER = [
  'district',
  'land_use_status',
  'land_use_plan',
  'urban_plan',
  'land_plan',
  'basic_farmland',
  'ecological_redline',
  'urban_boundary',
  'sensitive_zone',
  'control_line',
  'road',
  'facility',
];

export const KIND_TITLES = {
  district: { 'zh-CN': '行政区', en: 'Districts' },
  land_use_status: { 'zh-CN': '土地利用现状', en: 'Land-use status (annual land survey)' },
  land_use_plan: { 'zh-CN': '国土空间规划用地', en: 'Land-use plan' },
  urban_plan: { 'zh-CN': '城乡规划', en: 'Urban plan (legacy)' },
  land_plan: { 'zh-CN': '土地利用总体规划', en: 'Land plan (legacy)' },
  basic_farmland: { 'zh-CN': '永久基本农田', en: 'Permanent basic farmland' },
  ecological_redline: { 'zh-CN': '生态保护红线', en: 'Ecological red line' },
  urban_boundary: { 'zh-CN': '城镇开发边界', en: 'Urban development boundary' },
  sensitive_zone: { 'zh-CN': '敏感区', en: 'Sensitive zones' },
  control_line: { 'zh-CN': '控制线', en: 'Control lines' },
  road: { 'zh-CN': '道路', en: 'Roads' },
  facility: { 'zh-CN': '设施', en: 'Facilities' },
  other: { 'zh-CN': '其他图层', en: 'Other layers' },
};

const c = (code, zh, en, color) => ({ code, 'zh-CN': zh, en, color });

/**
 * 用地用海分类 level-1 classes with the planning maps' customary colours (国土空间规划
 * 制图 colour table). A longer code (0701, 100101) takes its level-1 class by prefix.
 */
export const LAND_USE_CLASSES = [
  c('01', '耕地', 'Cropland', '#F5F8DC'),
  c('02', '园地', 'Orchards', '#BFE9AA'),
  c('03', '林地', 'Forest', '#68B167'),
  c('04', '草地', 'Grassland', '#CDF57A'),
  c('05', '湿地', 'Wetland', '#65CDAA'),
  c('06', '农业设施建设用地', 'Agricultural facilities', '#D8D79F'),
  c('07', '居住用地', 'Residential', '#FFFF2D'),
  c('08', '公共管理与公共服务用地', 'Public administration and services', '#EB46DA'),
  c('09', '商业服务业用地', 'Commercial services', '#FF0000'),
  c('10', '工矿用地', 'Industry and mining', '#BB9674'),
  c('11', '仓储用地', 'Warehousing', '#8761D3'),
  c('12', '交通运输用地', 'Transport', '#ADADAD'),
  c('13', '公用设施用地', 'Public utilities', '#006380'),
  c('14', '绿地与开敞空间用地', 'Green and open space', '#00FF00'),
  c('15', '特殊用地', 'Special use', '#859156'),
  c('16', '留白用地', 'Reserved (留白)', '#FFFFFF'),
  c('17', '陆地水域', 'Inland water', '#4DB6EF'),
  c('18', '渔业用海', 'Sea: fisheries', '#B4E1F5'),
  c('19', '工矿通信用海', 'Sea: industry and communications', '#9DD3F0'),
  c('20', '交通运输用海', 'Sea: transport', '#86C5EB'),
  c('21', '游憩用海', 'Sea: recreation', '#6FB7E6'),
  c('22', '特殊用海', 'Sea: special use', '#58A9E1'),
  c('23', '其他土地', 'Other land', '#D9D6C3'),
  c('24', '其他海域', 'Other sea', '#419BDC'),
];

/** GB 50137-2011 major classes of the legacy urban plan (城乡规划), by the code's letter. */
export const URBAN_PLAN_CLASSES = [
  c('R', '居住用地', 'Residential', '#FFFF00'),
  c('A', '公共管理与公共服务设施用地', 'Public administration and services', '#FF7FBF'),
  c('B', '商业服务业设施用地', 'Commercial', '#FF0000'),
  c('M', '工业用地', 'Industrial', '#A0785A'),
  c('W', '物流仓储用地', 'Logistics and warehousing', '#9966CC'),
  c('S', '道路与交通设施用地', 'Roads and transport', '#B0B0B0'),
  c('U', '公用设施用地', 'Public utilities', '#2F6FAF'),
  c('G', '绿地与广场用地', 'Green space and squares', '#3CB371'),
  c('H', '建设用地（区域）', 'Regional construction land', '#D2B48C'),
  c('E', '非建设用地', 'Non-construction land', '#CDE8C0'),
];

/** Legacy land plan (土地利用总体规划) classes, by the code's first two digits. */
export const LAND_PLAN_CLASSES = [
  c('11', '耕地', 'Cropland', '#F5F8DC'),
  c('12', '园地', 'Orchards', '#BFE9AA'),
  c('13', '林地', 'Forest', '#68B167'),
  c('14', '牧草地', 'Pasture', '#CDF57A'),
  c('15', '其他农用地', 'Other agricultural land', '#E3E8B0'),
  c('21', '城乡建设用地', 'Urban and rural construction land', '#F4A582'),
  c('22', '交通水利用地', 'Transport and water works', '#B0B0B0'),
  c('23', '其他建设用地', 'Other construction land', '#C98E6B'),
  c('31', '水域', 'Water', '#4DB6EF'),
  c('32', '自然保留地', 'Natural reserve land', '#D9D6C3'),
];

/** 城镇开发边界 zones (`zone` attribute). */
export const URBAN_ZONES = [
  c('01', '集中建设区', 'Concentrated construction zone', '#A020F0'),
  c('02', '弹性发展区', 'Flexible development zone', '#C77DFF'),
  c('03', '特别用途区', 'Special-use zone', '#7B2CBF'),
];

/** Control lines by `type`: each its own colour AND its own dash, so print and
 *  colour-blind readers can still tell them apart. */
export const CONTROL_LINE_TYPES = [
  { code: 'blue', 'zh-CN': '蓝线（水系）', en: 'Blue line (water)', color: '#1565C0', dash: null },
  { code: 'green', 'zh-CN': '绿线（绿地）', en: 'Green line (green space)', color: '#2E7D32', dash: [10, 5] },
  { code: 'purple', 'zh-CN': '紫线（历史文化）', en: 'Purple line (heritage)', color: '#7B1FA2', dash: [12, 4, 2, 4] },
  { code: 'yellow', 'zh-CN': '黄线（基础设施）', en: 'Yellow line (infrastructure)', color: '#C79100', dash: [2, 4] },
  { code: 'road', 'zh-CN': '道路红线', en: 'Road red line', color: '#D32F2F', dash: [16, 4] },
];

/** Sensitive zones by `type`; hatched so they read as "caution" in black and white too. */
export const SENSITIVE_ZONE_TYPES = [
  { code: 'geohazard', 'zh-CN': '地质灾害区', en: 'Geohazard zone', color: '#E65100', hatch: 'diagonal' },
  { code: 'water_source', 'zh-CN': '水源保护区', en: 'Water-source protection', color: '#0277BD', hatch: 'horizontal' },
  { code: 'heritage', 'zh-CN': '文物保护区', en: 'Heritage protection', color: '#6D4C41', hatch: 'cross' },
  { code: 'mineral', 'zh-CN': '压覆矿产区', en: 'Mineral resources', color: '#546E7A', hatch: 'vertical' },
];

/** Roads by `class`, widest first; unknown classes draw as `other`. */
export const ROAD_CLASSES = [
  { code: 'expressway', 'zh-CN': '高速公路', en: 'Expressway', color: '#E8891C', width: 4, casing: '#8A4B00' },
  { code: 'national', 'zh-CN': '国道', en: 'National road', color: '#F2B134', width: 3.5, casing: '#8A6200' },
  { code: 'provincial', 'zh-CN': '省道', en: 'Provincial road', color: '#F6D365', width: 3, casing: '#8A7400' },
  { code: 'county', 'zh-CN': '县道', en: 'County road', color: '#FFFFFF', width: 2.5, casing: '#777777' },
  { code: 'arterial', 'zh-CN': '城市主干路', en: 'Arterial road', color: '#FFFFFF', width: 2.5, casing: '#555555' },
  { code: 'secondary', 'zh-CN': '城市次干路', en: 'Secondary road', color: '#FFFFFF', width: 2, casing: '#888888' },
  { code: 'other', 'zh-CN': '其他道路', en: 'Other road', color: '#9E9E9E', width: 1.5, casing: null },
];

/** Facilities by `type`: shape and letter differ per type, not only the colour. */
export const FACILITY_TYPES = [
  { code: 'school', 'zh-CN': '学校', en: 'School', color: '#1565C0', shape: 'triangle', glyph: '学' },
  { code: 'hospital', 'zh-CN': '医院', en: 'Hospital', color: '#C62828', shape: 'square', glyph: '医' },
  { code: 'substation', 'zh-CN': '变电站', en: 'Substation', color: '#F9A825', shape: 'diamond', glyph: '电' },
  { code: 'fire_station', 'zh-CN': '消防站', en: 'Fire station', color: '#D84315', shape: 'pentagon', glyph: '消' },
  { code: 'water_plant', 'zh-CN': '水厂', en: 'Waterworks', color: '#0277BD', shape: 'hexagon', glyph: '水' },
  { code: 'other', 'zh-CN': '其他设施', en: 'Other facility', color: '#616161', shape: 'circle', glyph: '' },
];

/** Styles of the analysis overlays (`setOverlay(name, geojson, preset)`). */
export const OVERLAY_PRESETS = {
  project: { stroke: '#D50000', width: 3, fill: 'rgba(213,0,0,0.08)', dash: null },
  overlap: { stroke: '#B71C1C', width: 1.5, fill: 'rgba(255,87,34,0.55)', hatch: 'diagonal' },
  candidate: { stroke: '#0B5CAD', width: 2, fill: 'rgba(11,92,173,0.22)', label: 'rank' },
  conflict: { stroke: '#880E4F', width: 1.5, fill: 'rgba(233,30,99,0.45)', hatch: 'cross' },
  drawing: { stroke: '#0B5CAD', width: 2, fill: 'rgba(11,92,173,0.12)', dash: [6, 4] },
  default: { stroke: '#0B5CAD', width: 2, fill: 'rgba(11,92,173,0.15)' },
};
/** What a highlighted (selected) feature gets on top of its own style. */
export const HIGHLIGHT = { halo: '#FFFFFF', stroke: '#FFB300', width: 4 };

function byPrefix(classes, code, lengths) {
  const text = String(code ?? '').trim().toUpperCase();
  for (const n of lengths) {
    const hit = classes.find((k) => k.code === text.slice(0, n));
    if (hit) return hit;
  }
  return null;
}

/** The 用地用海 level-1 class of a code (0701 → 07 居住用地), or null. */
export function landUseClass(code) {
  return byPrefix(LAND_USE_CLASSES, code, [2]);
}

/**
 * The legend class a feature of `kind` with tile attributes `props` belongs to: the class
 * table entry (code, zh-CN, en, colour …), or a fallback entry whose code is '' when the
 * attribute is missing or unknown.
 */
export function featureClass(kind, props = {}) {
  let hit = null;
  // The annual survey (国土变更调查) uses the same 用地用海 classes as the plan.
  if (kind === 'land_use_plan' || kind === 'land_use_status') hit = landUseClass(props.code);
  else if (kind === 'urban_plan') hit = byPrefix(URBAN_PLAN_CLASSES, props.code, [1]);
  else if (kind === 'land_plan') hit = byPrefix(LAND_PLAN_CLASSES, props.code, [2]);
  else if (kind === 'urban_boundary') hit = URBAN_ZONES.find((z) => z.code === String(props.zone ?? '').padStart(2, '0')) || null;
  else if (kind === 'control_line') hit = CONTROL_LINE_TYPES.find((t) => t.code === props.type) || null;
  else if (kind === 'sensitive_zone') hit = SENSITIVE_ZONE_TYPES.find((t) => t.code === props.type) || null;
  else if (kind === 'road') return ROAD_CLASSES.find((r) => r.code === props.class) || ROAD_CLASSES.at(-1);
  else if (kind === 'facility') return FACILITY_TYPES.find((f) => f.code === props.type) || FACILITY_TYPES.at(-1);
  else return { code: kind, ...(KIND_TITLES[kind] || KIND_TITLES.other) };
  return hit || { code: '', 'zh-CN': '未分类', en: 'Unclassified', color: '#BDBDBD' };
}

/** Stronger sensitive-zone levels (DOMAIN.md rule 5: geohazard high, water source level 1,
 *  heritage protection range) draw more opaque. */
function sensitiveIsStrong(props) {
  const level = String(props.level ?? '').toLowerCase();
  return ['high', '1', 'protection', 'i', '一级', '高'].includes(level);
}

function rgba(hex, alpha) {
  const h = hex.replace('#', '');
  const n = parseInt(h.length === 3 ? h.replace(/./g, '$&$&') : h, 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/**
 * The drawing spec of a feature: a plain object map.js turns into an OpenLayers style.
 *
 *   fill     CSS colour or null        stroke   CSS colour or null     width  px
 *   dash     [on, off, …] px or null   hatch    'diagonal'|'horizontal'|'vertical'|'cross'|null
 *   casing   {color, width} drawn under the stroke (roads)
 *   point    {shape, radius, fill, stroke, glyph} (facilities)
 *   label    attribute to write on the feature, or null
 *   key      a string unique per distinct spec (for style caches)
 */
export function styleSpec(kind, props = {}) {
  const cls = featureClass(kind, props);
  const base = { fill: null, stroke: null, width: 1, dash: null, hatch: null, casing: null, point: null, label: null };
  let spec;
  switch (kind) {
    case 'district':
      spec = { ...base, fill: 'rgba(242,239,233,0.45)', stroke: '#6D6D6D', width: 1.2, dash: [8, 3, 2, 3], label: 'name' };
      break;
    case 'land_use_status':
      // Drawn under the plan, paler and dashed: what is there, not what is planned.
      spec = { ...base, fill: rgba(cls.color, 0.45), stroke: 'rgba(90,90,90,0.45)', width: 0.6, dash: [3, 2] };
      break;
    case 'land_use_plan':
    case 'urban_plan':
    case 'land_plan':
      spec = { ...base, fill: rgba(cls.color, 0.72), stroke: 'rgba(90,90,90,0.55)', width: 0.6 };
      break;
    case 'basic_farmland':
      spec = { ...base, fill: 'rgba(233,196,64,0.45)', stroke: '#9C7A00', width: 1.2, hatch: 'dots' };
      break;
    case 'ecological_redline':
      spec = { ...base, fill: 'rgba(76,175,80,0.30)', stroke: '#D50000', width: 2 };
      break;
    case 'urban_boundary':
      spec = { ...base, fill: rgba(cls.color, cls.code === '01' ? 0.12 : 0.06), stroke: cls.color, width: 2.5, dash: cls.code === '01' ? null : [10, 4] };
      break;
    case 'sensitive_zone': {
      const color = cls.code ? cls.color : '#757575';
      const strong = sensitiveIsStrong(props);
      spec = { ...base, fill: rgba(color, strong ? 0.30 : 0.15), stroke: color, width: strong ? 2 : 1.2, hatch: cls.hatch || 'diagonal', dash: strong ? null : [6, 3] };
      break;
    }
    case 'control_line':
      spec = { ...base, fill: rgba(cls.code ? cls.color : '#757575', 0.12), stroke: cls.code ? cls.color : '#757575', width: 2, dash: cls.dash || null };
      break;
    case 'road':
      spec = { ...base, stroke: cls.color, width: cls.width, casing: cls.casing ? { color: cls.casing, width: cls.width + 2 } : null };
      break;
    case 'facility':
      spec = { ...base, point: { shape: cls.shape, radius: 8, fill: cls.color, stroke: '#FFFFFF', glyph: cls.glyph } };
      break;
    default:
      spec = { ...base, fill: 'rgba(120,144,156,0.25)', stroke: '#546E7A', width: 1.2 };
  }
  if (kind === 'sensitive_zone') spec.strong = sensitiveIsStrong(props);
  spec.key = `${kind}|${cls.code}|${spec.strong ? 's' : ''}`;
  return spec;
}

/**
 * The legend entries of a layer kind: one per class, each with `key`, `label` (in `locale`)
 * and `swatch` (the style spec a feature of that class is drawn with).
 */
export function legendItems(kind, locale = 'zh-CN') {
  const entries = (classes, attr) =>
    classes.map((k) => {
      const props = { [attr]: k.code };
      return { key: `${kind}:${k.code}`, code: k.code, label: label(k, locale), swatch: styleSpec(kind, props) };
    });
  switch (kind) {
    case 'land_use_plan':
    case 'land_use_status':
      return entries(LAND_USE_CLASSES, 'code').map((e) => ({ ...e, label: `${e.code} ${e.label}` }));
    case 'urban_plan':
      return entries(URBAN_PLAN_CLASSES, 'code').map((e) => ({ ...e, label: `${e.code} ${e.label}` }));
    case 'land_plan':
      return entries(LAND_PLAN_CLASSES, 'code').map((e) => ({ ...e, label: `${e.code} ${e.label}` }));
    case 'urban_boundary':
      return entries(URBAN_ZONES, 'zone').map((e) => ({ ...e, label: `${e.code} ${e.label}` }));
    case 'control_line':
      return entries(CONTROL_LINE_TYPES, 'type');
    case 'sensitive_zone':
      return entries(SENSITIVE_ZONE_TYPES, 'type');
    case 'road':
      return entries(ROAD_CLASSES, 'class');
    case 'facility':
      return entries(FACILITY_TYPES, 'type');
    default:
      return [{ key: `${kind}:`, code: '', label: label(KIND_TITLES[kind] || KIND_TITLES.other, locale), swatch: styleSpec(kind, {}) }];
  }
}

function label(entry, locale) {
  return entry[locale] || entry['zh-CN'];
}

/** The title of a layer kind in `locale` (unknown kinds: "Other layers"). */
export function kindTitle(kind, locale = 'zh-CN') {
  return label(KIND_TITLES[kind] || KIND_TITLES.other, locale);
}

/**
 * The legend: the catalogue `layers` grouped by kind in drawing order (top of the map
 * first, as a legend reads), each group with its title, its layers (id, name, department,
 * visible, restricted) and the kind's legend items.
 */
export function legendModel(layers, { locale = 'zh-CN' } = {}) {
  const groups = new Map();
  for (const layer of layers || []) {
    const kind = KIND_ORDER.includes(layer.kind) ? layer.kind : 'other';
    if (!groups.has(kind)) groups.set(kind, []);
    groups.get(kind).push({
      id: layer.id,
      name: layer.name || layer.id,
      department: layer.department || '',
      visible: Boolean(layer.visible),
      restricted: Boolean(layer.restricted),
    });
  }
  const order = [...KIND_ORDER, 'other'].reverse();
  return order
    .filter((kind) => groups.has(kind))
    .map((kind) => ({
      kind,
      title: kindTitle(kind, locale),
      layers: groups.get(kind).sort((a, b) => a.name.localeCompare(b.name, locale) || a.id.localeCompare(b.id)),
      items: legendItems(kind, locale),
    }));
}

// --- measurement ----------------------------------------------------------------------------

/**
 * A length for people: metres (2 decimals) under 1 km, else kilometres (3 decimals).
 * Returns {value_m, text}.
 */
export function formatLength(meters, locale = 'zh-CN') {
  const m = Math.max(0, Number(meters) || 0);
  const text = m < KM_FROM_M ? `${formatNumber(locale, m, 2)} m` : `${formatNumber(locale, m / 1000, 3)} km`;
  return { value_m: m, text };
}

/**
 * An area for people: m² (2 decimals) under 1 km², else km² (4 decimals), always with 亩
 * (2 decimals) beside it, as reviewers count land in mu. Returns {value_m2, mu, text}.
 */
export function formatArea(squareMeters, locale = 'zh-CN') {
  const m2 = Math.max(0, Number(squareMeters) || 0);
  const mu = toMu(m2);
  const main = m2 < KM2_FROM_M2 ? `${formatNumber(locale, m2, 2)} m²` : `${formatNumber(locale, m2 / 1e6, 4)} km²`;
  const muText = `${formatNumber(locale, mu, 2)} ${locale === 'en' ? 'mu' : '亩'}`;
  const text = locale === 'en' ? `${main} (${muText})` : `${main}（${muText}）`;
  return { value_m2: m2, mu, text };
}

// --- identify -------------------------------------------------------------------------------

export const ATTRIBUTE_LABELS = {
  name: { 'zh-CN': '名称', en: 'Name' },
  district: { 'zh-CN': '行政区', en: 'District' },
  adcode: { 'zh-CN': '行政区划代码', en: 'Division code' },
  code: { 'zh-CN': '分类代码', en: 'Class code' },
  zone: { 'zh-CN': '分区', en: 'Zone' },
  type: { 'zh-CN': '类型', en: 'Type' },
  level: { 'zh-CN': '级别', en: 'Level' },
  class: { 'zh-CN': '等级', en: 'Class' },
  fid: { 'zh-CN': '要素编号', en: 'Feature id' },
};
const FIRST = ['name', 'code', 'zone', 'type', 'class', 'level', 'district', 'adcode'];
/** Properties the tiles or the map add that are not the feature's own. */
const HIDDEN = new Set(['layer', 'geometry']);

/**
 * The rows an identify panel shows for a feature: [{key, label, value}], known attributes
 * first (with class names after codes), then the others by name, the feature id last.
 * Values are plain strings; the panel writes them as text, never as HTML.
 * `districtNames` maps adcodes to names where the district layer told us.
 */
export function describeAttributes(kind, props = {}, { locale = 'zh-CN', districtNames } = {}) {
  const keys = Object.keys(props).filter((k) => !HIDDEN.has(k) && props[k] !== null && props[k] !== undefined && typeof props[k] !== 'object');
  const rank = (k) => (k === 'fid' ? 1000 : FIRST.includes(k) ? FIRST.indexOf(k) : 100);
  keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return keys.map((key) => {
    let value = String(props[key]);
    if (key === 'district' && districtNames && districtNames.get(value)) value = `${districtNames.get(value)} (${value})`;
    else if ((key === 'code' && ['land_use_plan', 'land_use_status', 'urban_plan', 'land_plan'].includes(kind)) || (key === 'zone' && kind === 'urban_boundary') || (key === 'type' && ['control_line', 'sensitive_zone', 'facility'].includes(kind)) || (key === 'class' && kind === 'road')) {
      const cls = featureClass(kind, props);
      if (cls.code && cls.code !== 'other') value = `${value} (${label(cls, locale)})`;
    }
    const title = ATTRIBUTE_LABELS[key] ? label(ATTRIBUTE_LABELS[key], locale) : key;
    return { key, label: title, value };
  });
}

// --- parameters -----------------------------------------------------------------------------

/** Kinds drawn when the embedding page names no `visible` layers: the base and the three
 *  control lines (三线) every planning map starts from. */
export const DEFAULT_VISIBLE_KINDS = ['district', 'ecological_redline', 'basic_farmland', 'urban_boundary'];

function isLonLat(v) {
  return Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number' && Number.isFinite(n)) && Math.abs(v[0]) <= 180 && Math.abs(v[1]) <= 90;
}

/**
 * The map's settings from widget parameters and the layer catalogue.
 *
 * params: layers   ids of the layers to offer (default: every catalogue layer)
 *         visible  ids drawn at first (default: the DEFAULT_VISIBLE_KINDS layers)
 *         center   [lon, lat] in EPSG:4490;  zoom  0–20
 *         district adcode to frame at first;  basemap  false hides the configured basemap
 * Returns {layers: catalogue entries (+ visible), center, zoom, district, basemap,
 *          problems: [{param, message}]}: unknown ids and bad values are reported and
 *          ignored, never fatal.
 */
export function parseMapParams(params = {}, catalogue = []) {
  const problems = [];
  const byId = new Map(catalogue.map((l) => [l.id, l]));
  let offered = catalogue;
  if (params.layers !== undefined && params.layers !== null) {
    if (!Array.isArray(params.layers)) problems.push({ param: 'layers', message: 'layers must be a list of layer ids' });
    else {
      const unknown = params.layers.filter((id) => !byId.has(id));
      if (unknown.length) problems.push({ param: 'layers', message: `unknown layers: ${unknown.join(', ')}` });
      offered = params.layers.filter((id) => byId.has(id)).map((id) => byId.get(id));
    }
  }
  let visible = null;
  if (params.visible !== undefined && params.visible !== null) {
    if (!Array.isArray(params.visible)) problems.push({ param: 'visible', message: 'visible must be a list of layer ids' });
    else {
      const unknown = params.visible.filter((id) => !offered.some((l) => l.id === id));
      if (unknown.length) problems.push({ param: 'visible', message: `layers not offered: ${unknown.join(', ')}` });
      visible = new Set(params.visible);
    }
  }
  const layers = offered.map((l) => ({ ...l, visible: visible ? visible.has(l.id) : DEFAULT_VISIBLE_KINDS.includes(l.kind) }));
  let center = null;
  if (params.center !== undefined && params.center !== null) {
    if (isLonLat(params.center)) center = params.center;
    else problems.push({ param: 'center', message: 'center must be [longitude, latitude] in degrees' });
  }
  let zoom = null;
  if (params.zoom !== undefined && params.zoom !== null) {
    const z = Number(params.zoom);
    if (Number.isFinite(z) && z >= 0 && z <= VIEW_MAX_ZOOM) zoom = z;
    else problems.push({ param: 'zoom', message: `zoom must be a number from 0 to ${VIEW_MAX_ZOOM}` });
  }
  const district = typeof params.district === 'string' && /^\d{6,12}$/.test(params.district) ? params.district : null;
  if (params.district !== undefined && params.district !== null && !district) problems.push({ param: 'district', message: 'district must be an administrative division code (adcode), e.g. 500103' });
  return { layers, center, zoom, district, basemap: params.basemap !== false, problems };
}

/**
 * The basemap XYZ URL template if it is one (http(s), with {z}, {x} and {y} or {-y}); else
 * null. The server checks the `basemap_url` setting the same way before passing it on.
 */
export function basemapTemplate(url) {
  if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/.test(url)) return null;
  if (!url.includes('{z}') || !url.includes('{x}') || !(url.includes('{y}') || url.includes('{-y}'))) return null;
  return url;
}

/** Union of [minLon, minLat, maxLon, maxLat] boxes, or null for none. */
export function unionBbox(boxes) {
  const valid = (boxes || []).filter((b) => Array.isArray(b) && b.length === 4 && b.every(Number.isFinite));
  if (!valid.length) return null;
  return valid.reduce((a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]);
}

// --- texts ----------------------------------------------------------------------------------

export const MAP_MESSAGES = {
  'zh-CN': {
    'map.label': '地图',
    'map.instructions': '方向键平移，+ / − 缩放，回车查询地图中心的要素（量算或绘制时为添加节点），Shift+回车完成，退格撤销节点，Esc 关闭弹窗或取消。',
    'map.zoom_in': '放大',
    'map.zoom_out': '缩小',
    'map.popup': '要素信息',
    'map.close': '关闭',
    'map.nothing_here': '此处没有要素。',
    'map.more_attributes': '正在读取完整属性……',
    'map.department': '发布部门',
    'map.layer': '图层',
    'map.measure_distance': '测距',
    'map.measure_area': '测面',
    'map.finish': '完成',
    'map.clear': '清除',
    'map.measure_hint': '单击添加节点，双击完成；键盘：回车添加地图中心为节点，Shift+回车完成。',
    'map.measure_result_distance': '距离：{text}',
    'map.measure_result_area': '面积：{text}',
    'map.layer_failed': '图层“{name}”无法加载（{status}）。',
    'map.print_alt': '地图（打印）',
    'map.overlay': '分析结果',
  },
  en: {
    'map.label': 'Map',
    'map.instructions': 'Arrow keys pan, + / − zoom, Enter identifies the feature at the centre (adds a vertex while measuring or drawing), Shift+Enter finishes, Backspace removes a vertex, Escape closes a popup or cancels.',
    'map.zoom_in': 'Zoom in',
    'map.zoom_out': 'Zoom out',
    'map.popup': 'Feature information',
    'map.close': 'Close',
    'map.nothing_here': 'No feature here.',
    'map.more_attributes': 'Reading all attributes…',
    'map.department': 'Department',
    'map.layer': 'Layer',
    'map.measure_distance': 'Distance',
    'map.measure_area': 'Area',
    'map.finish': 'Finish',
    'map.clear': 'Clear',
    'map.measure_hint': 'Click to add vertices, double-click to finish; keyboard: Enter adds the map centre, Shift+Enter finishes.',
    'map.measure_result_distance': 'Distance: {text}',
    'map.measure_result_area': 'Area: {text}',
    'map.layer_failed': 'Layer “{name}” could not be loaded ({status}).',
    'map.print_alt': 'Map (print)',
    'map.overlay': 'Analysis result',
  },
};

/** A translate function over MAP_MESSAGES (the widgets' translator: zh-CN, then English). */
export function mapTranslator(locale) {
  return translator(locale, MAP_MESSAGES);
}
