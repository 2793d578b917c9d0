// Departments' own services on the map (param `remote`): what to ask each kind of service
// for through PlanFuse's proxy, and how to read its answers. Pure functions; the widget
// (widget.js) does the fetching.
//
//   ogc_features    …/items?limit=N                                  GeoJSON
//   wfs             GetCapabilities, then GetFeature in its JSON format (EPSG:3857)
//   arcgis_feature  ?f=json (service or layer), then …/query?f=geojson
//   wms             GetMap images of the view (a named layer from GetCapabilities)
//   arcgis_map      …/export images of the view

/** Features read of a department's service: its first page. */
export const REMOTE_LIMIT = 1000;
const REMOTE_ID = /^[a-z][a-z0-9_]{1,31}$/;
const EARTH_RADIUS_M = 6378137;

/** The kinds drawn as features and as pictures. */
export const FEATURE_KINDS = ['ogc_features', 'wfs', 'arcgis_feature'];
export const IMAGE_KINDS = ['wms', 'arcgis_map'];

/**
 * A `remote` entry: `"<id>"` or `"<id>/<layer>"` (the WFS feature type, WMS layer or ArcGIS
 * layer to draw; the service's first when left out). Null when malformed.
 */
export function parseRemoteEntry(value) {
  if (typeof value !== 'string') return null;
  const slash = value.indexOf('/');
  const id = slash < 0 ? value : value.slice(0, slash);
  const layer = slash < 0 ? null : value.slice(slash + 1);
  if (!REMOTE_ID.test(id) || layer === '' || (layer && layer.length > 200)) return null;
  return { id, layer };
}

function parseXml(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) throw new Error('the service answered XML that cannot be read');
  return doc;
}

/** Direct children of `node` with local name `name` (any namespace). */
function children(node, name) {
  return [...node.children].filter((c) => c.localName === name);
}

function childText(node, name) {
  const found = children(node, name)[0];
  return found ? found.textContent.trim() : null;
}

/**
 * A WFS capabilities document: its feature types ({name, title}) and the GetFeature output
 * format that is JSON (null when it offers none).
 */
export function readWfsCapabilities(text) {
  const doc = parseXml(text);
  const featureTypes = [...doc.getElementsByTagNameNS('*', 'FeatureType')]
    .map((node) => ({ name: childText(node, 'Name'), title: childText(node, 'Title') }))
    .filter((t) => t.name);
  let jsonFormat = null;
  for (const op of doc.getElementsByTagNameNS('*', 'Operation')) {
    if (op.getAttribute('name') !== 'GetFeature') continue;
    for (const param of children(op, 'Parameter')) {
      if (param.getAttribute('name') !== 'outputFormat') continue;
      const values = [...param.getElementsByTagNameNS('*', 'Value')].map((v) => v.textContent.trim());
      jsonFormat = values.find((v) => /json/i.test(v)) || null;
    }
  }
  return { featureTypes, jsonFormat };
}

/** A WMS capabilities document's named layers ({name, title}), in document order. */
export function readWmsCapabilities(text) {
  const doc = parseXml(text);
  const layers = [...doc.getElementsByTagNameNS('*', 'Layer')]
    .map((node) => ({ name: childText(node, 'Name'), title: childText(node, 'Title') }))
    .filter((l) => l.name);
  return { layers };
}

/** The named item `wanted`, else the first; an Error naming what there is when none fits. */
export function pickLayer(items, wanted, what) {
  if (!items.length) throw new Error(`the service lists no ${what}`);
  if (!wanted) return items[0];
  const found = items.find((item) => String(item.name ?? item.id) === wanted);
  if (!found) throw new Error(`no ${what} ${wanted}; it has ${items.map((i) => i.name ?? i.id).join(', ')}`);
  return found;
}

/** The GetFeature query of a WFS 2.0 feature type in Web Mercator (no axis-order doubt). */
export function wfsFeatureQuery(typeName, outputFormat, limit = REMOTE_LIMIT) {
  return {
    service: 'WFS',
    version: '2.0.0',
    request: 'GetFeature',
    typeNames: typeName,
    outputFormat,
    count: limit,
    srsName: 'EPSG:3857',
  };
}

/** The query of an ArcGIS FeatureServer layer for its first features as GeoJSON. */
export function arcgisFeatureQuery(limit = REMOTE_LIMIT) {
  return { where: '1=1', outFields: '*', returnGeometry: 'true', outSR: '4326', resultRecordCount: limit, f: 'geojson' };
}

/**
 * Where the features of an ArcGIS service are queried, below the service's proxy path: the
 * registered URL is a layer (`…/FeatureServer/0`: `query`) or a service (`…/FeatureServer`:
 * `<layer>/query`, the wanted layer or the first).
 */
export function arcgisQueryPath(info, wanted) {
  if (info && Array.isArray(info.layers)) {
    const layer = pickLayer(info.layers.map((l) => ({ ...l, name: String(l.id) })), wanted, 'layer');
    return `${encodeURIComponent(layer.name)}/query`;
  }
  if (wanted) throw new Error(`the registered URL is one layer; draw it without /${wanted}`);
  return 'query';
}

function mercatorPoint([x, y, ...rest]) {
  const lon = (x / EARTH_RADIUS_M) * (180 / Math.PI);
  const lat = (2 * Math.atan(Math.exp(y / EARTH_RADIUS_M)) - Math.PI / 2) * (180 / Math.PI);
  return [lon, lat, ...rest];
}

function mapCoordinates(coords, fn) {
  return typeof coords[0] === 'number' ? fn(coords) : coords.map((c) => mapCoordinates(c, fn));
}

function mapGeometry(geometry, fn) {
  if (!geometry) return geometry;
  if (geometry.type === 'GeometryCollection') return { ...geometry, geometries: geometry.geometries.map((g) => mapGeometry(g, fn)) };
  return { ...geometry, coordinates: mapCoordinates(geometry.coordinates, fn) };
}

/** A GeoJSON FeatureCollection in EPSG:3857 metres as longitude/latitude (spherical). */
export function mercatorToLonLat(collection) {
  return {
    ...collection,
    features: (collection.features || []).map((f) => ({ ...f, geometry: mapGeometry(f.geometry, mercatorPoint) })),
  };
}
