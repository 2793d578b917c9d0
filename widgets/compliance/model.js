// The compliance widget's pure logic (no DOM): units, the result event, the map overlay of
// an item, the check request body. Unit-tested in model.test.js.

/** The rule order of the checklist (the server sends items in this order too). */
export const RULES = ['basic_farmland', 'ecological_redline', 'urban_boundary', 'land_use_plan', 'sensitive_zone', 'control_line'];
/** Status → the symbol shown beside its text (status is never told by colour alone). */
export const STATUS_ICONS = { pass: '✔', warn: '⚠', fail: '✖', needs_review: '◆', needs_approval: '▲', not_checked: '?', info: 'ℹ' };

/**
 * Coordinate systems offered for input, Chongqing's Gauss–Krüger zones first (zones 35–37:
 * prefixed eastings 4523–4525, unprefixed by central meridian 4544–4546).
 */
export const CRS_OPTIONS = [
  { value: 'EPSG:4523', zh: 'CGCS2000 3度带 第35带（带号，105°E）', en: 'CGCS2000 3° GK zone 35 (prefixed, 105°E)' },
  { value: 'EPSG:4524', zh: 'CGCS2000 3度带 第36带（带号，108°E）', en: 'CGCS2000 3° GK zone 36 (prefixed, 108°E)' },
  { value: 'EPSG:4525', zh: 'CGCS2000 3度带 第37带（带号，111°E）', en: 'CGCS2000 3° GK zone 37 (prefixed, 111°E)' },
  { value: 'EPSG:4544', zh: 'CGCS2000 3度带 中央经线105°E（无带号）', en: 'CGCS2000 3° GK CM 105°E (no prefix)' },
  { value: 'EPSG:4545', zh: 'CGCS2000 3度带 中央经线108°E（无带号）', en: 'CGCS2000 3° GK CM 108°E (no prefix)' },
  { value: 'EPSG:4546', zh: 'CGCS2000 3度带 中央经线111°E（无带号）', en: 'CGCS2000 3° GK CM 111°E (no prefix)' },
  { value: 'EPSG:4490', zh: 'CGCS2000 经纬度', en: 'CGCS2000 longitude/latitude' },
  { value: 'GCJ-02', zh: 'GCJ-02（高德、腾讯地图坐标）', en: 'GCJ-02 (AMap, Tencent)' },
  { value: 'BD-09', zh: 'BD-09（百度地图坐标）', en: 'BD-09 (Baidu)' },
  { value: 'EPSG:4326', zh: 'WGS 84 经纬度', en: 'WGS 84 longitude/latitude' },
  { value: 'EPSG:3857', zh: 'Web 墨卡托', en: 'Web Mercator' },
];

/**
 * The `result` event payload: what a host acts on (no geometry). `base` is the widget page's
 * address: the JWKS URL is made absolute against it, so the host page does not resolve it
 * against its own origin.
 */
export function resultPayload(report, base) {
  return {
    report_id: report.id,
    verdict: report.verdict,
    project_area_m2: report.project_area_m2,
    project_id: report.project ? report.project.id : null,
    land_use: report.land_use.code,
    project_type: report.project_type,
    items: report.items.map((i) => ({
      rule: i.rule,
      status: i.status,
      overlap_area_m2: i.overlap_area_m2,
      overlap_ratio: i.overlap_ratio,
      feature_count: i.feature_count,
    })),
    signed_result: report.signature.jws,
    signature_kid: report.signature.kid,
    jwks_url: new URL(report.signature.jwks_url, base).href,
  };
}

/**
 * What the map shows for an item: the pieces that decide its status (for the urban
 * boundary the part outside it), else every piece. A FeatureCollection (EPSG:4490).
 */
export function itemOverlay(item) {
  if (item.rule === 'urban_boundary' && item.details && item.details.outside_geometry) {
    return {
      type: 'FeatureCollection',
      features: [{ type: 'Feature', id: 'outside', geometry: item.details.outside_geometry, properties: { id: 'outside' } }],
    };
  }
  const withGeometry = item.features.filter((f) => f.geometry);
  const counted = withGeometry.filter((f) => f.counted);
  const shown = counted.length ? counted : withGeometry;
  return {
    type: 'FeatureCollection',
    features: shown.map((f) => ({
      type: 'Feature',
      id: `${f.layer}:${f.fid}`,
      geometry: f.geometry,
      properties: { id: `${f.layer}:${f.fid}`, layer: f.layer, fid: f.fid, overlap_area_m2: f.overlap_area_m2 },
    })),
  };
}

/** The body of POST /compliance/check for the form's state (a locked project sends none). */
export function checkBody(state) {
  if (state.locked) return state.repair ? { repair: true } : {};
  const body = { land_use: state.landUse, project_type: state.projectType };
  if (state.geometry !== null && state.geometry !== undefined) body.geometry = state.geometry;
  if (state.crs) body.crs = state.crs;
  if (state.ruleset) body.ruleset = state.ruleset;
  if (state.repair) body.repair = true;
  return body;
}

/** Approximate area of a lon/lat polygon for the preview (spherical; the server measures). */
export function geodesicAreaM2(geometry) {
  const R = 6378137;
  const rad = Math.PI / 180;
  const rings = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  let total = 0;
  for (const polygon of rings) {
    polygon.forEach((ring, i) => {
      let sum = 0;
      for (let k = 0; k < ring.length - 1; k++) {
        const [x1, y1] = ring[k];
        const [x2, y2] = ring[k + 1];
        sum += (x2 - x1) * rad * (2 + Math.sin(y1 * rad) + Math.sin(y2 * rad));
      }
      total += (i === 0 ? 1 : -1) * Math.abs((sum * R * R) / 2);
    });
  }
  return total;
}

