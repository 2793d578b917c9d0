// The shared map of every PlanFuse widget (compliance, siting, conflicts, the 一张图 viewer),
// on OpenLayers, bundled into each widget (never from a CDN). Documented in docs/map.md.
//
//   import { createMap } from '../common/map.js';
//   const map = createMap(element, { layers, fetch: (url) => ctx.api(url, { raw: true }), locale: ctx.locale });
//   map.setOverlay('project', geojson, 'project');  map.fitTo('project');
//
// It draws PlanFuse's vector tiles (/tiles/{layer}/{z}/{x}/{y}.mvt, one style per layer
// kind from map-model.js), an optional XYZ basemap (the `basemap_url` setting; nothing from
// the internet otherwise), analysis overlays in EPSG:4490 lon/lat, identify popups, geodesic
// measuring, keyboard control and a print image.
import 'ol/ol.css';
import './map.css';
import OlMap from 'ol/Map.js';
import { unByKey } from 'ol/Observable.js';
import Overlay from 'ol/Overlay.js';
import TileState from 'ol/TileState.js';
import View from 'ol/View.js';
import Attribution from 'ol/control/Attribution.js';
import ScaleLine from 'ol/control/ScaleLine.js';
import Zoom from 'ol/control/Zoom.js';
import Feature from 'ol/Feature.js';
import { containsCoordinate, createEmpty, extend as extendExtent, getArea as extentArea, getCenter, getIntersection, intersects, isEmpty } from 'ol/extent.js';
import Point from 'ol/geom/Point.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import MVT from 'ol/format/MVT.js';
import Draw from 'ol/interaction/Draw.js';
import { defaults as defaultInteractions } from 'ol/interaction/defaults.js';
import TileLayer from 'ol/layer/Tile.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorTileLayer from 'ol/layer/VectorTile.js';
import { fromLonLat, toLonLat, transformExtent } from 'ol/proj.js';
import VectorSource from 'ol/source/Vector.js';
import VectorTileSource from 'ol/source/VectorTile.js';
import XYZ from 'ol/source/XYZ.js';
import { getArea, getLength } from 'ol/sphere.js';
import { Circle as CircleStyle, Fill, RegularShape, Stroke, Style, Text } from 'ol/style.js';
import { createXYZ } from 'ol/tilegrid.js';
import { el } from './dom.js';
import {
  DEFAULT_CENTER,
  DEFAULT_ZOOM,
  HIGHLIGHT,
  KIND_ORDER,
  OVERLAY_PRESETS,
  TILE_MAX_ZOOM,
  VIEW_MAX_ZOOM,
  basemapTemplate,
  describeAttributes,
  formatArea,
  formatLength,
  kindTitle,
  mapTranslator,
  styleSpec,
  unionBbox,
} from './map-model.js';

export { formatArea, formatLength, legendModel, legendItems, parseMapParams, styleSpec } from './map-model.js';

/** Overlays draw above every data layer, in the order they were added. */
const OVERLAY_Z = 1000;
/** The identify highlight and measurements draw above the overlays. */
const TOP_Z = 5000;
/** How far from a feature a click still hits it, in CSS pixels. */
const HIT_TOLERANCE_PX = 4;
/** Most features one identify lists (the top ones under the pointer). */
const MAX_IDENTIFY = 5;
/** District labels appear from about zoom 9 (metres per pixel at that zoom). */
const DISTRICT_LABEL_MAX_RESOLUTION = 320;
/** toImage() waits at most this long for tiles still loading. */
const IMAGE_WAIT_MS = 5000;
const PAD_PX = 32;
/** District labels are placed this long after the view or the district tiles settle. */
const LABEL_DELAY_MS = 120;
// CGCS2000 (EPSG:4490) and WGS 84 differ by centimetres, below any screen pixel: the map
// reads EPSG:4490 lon/lat as OpenLayers' EPSG:4326, as the tile server does.
const LONLAT = 'EPSG:4326';
const MERCATOR = 'EPSG:3857';

const geojson = new GeoJSON({ dataProjection: LONLAT, featureProjection: MERCATOR });

// --- styles -----------------------------------------------------------------------------

const patterns = new Map();
function hatchPattern(kind, color) {
  const key = `${kind}|${color}`;
  if (patterns.has(key)) return patterns.get(key);
  const size = 10;
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const g = canvas.getContext('2d');
  g.strokeStyle = color;
  g.fillStyle = color;
  g.lineWidth = 1;
  g.beginPath();
  if (kind === 'dots') g.arc(size / 2, size / 2, 1.1, 0, 2 * Math.PI);
  if (kind === 'diagonal' || kind === 'cross') {
    g.moveTo(0, size);
    g.lineTo(size, 0);
    g.moveTo(-size / 2, size / 2);
    g.lineTo(size / 2, -size / 2);
    g.moveTo(size / 2, size * 1.5);
    g.lineTo(size * 1.5, size / 2);
  }
  if (kind === 'cross') {
    g.moveTo(0, 0);
    g.lineTo(size, size);
  }
  if (kind === 'horizontal') {
    g.moveTo(0, size / 2);
    g.lineTo(size, size / 2);
  }
  if (kind === 'vertical') {
    g.moveTo(size / 2, 0);
    g.lineTo(size / 2, size);
  }
  if (kind === 'dots') g.fill();
  else g.stroke();
  const pattern = g.createPattern(canvas, 'repeat');
  patterns.set(key, pattern);
  return pattern;
}

const SHAPES = {
  triangle: { points: 3, angle: 0 },
  square: { points: 4, angle: Math.PI / 4 },
  diamond: { points: 4, angle: 0 },
  pentagon: { points: 5, angle: 0 },
  hexagon: { points: 6, angle: 0 },
};

function pointImage(point, scale = 1) {
  const fill = new Fill({ color: point.fill });
  const stroke = new Stroke({ color: point.stroke || '#fff', width: 1.5 });
  const radius = point.radius * scale;
  const shape = SHAPES[point.shape];
  return shape ? new RegularShape({ fill, stroke, points: shape.points, angle: shape.angle, radius: radius * 1.2 }) : new CircleStyle({ fill, stroke, radius });
}

/** OpenLayers styles for a spec from map-model.js (without the label text). */
function olStyles(spec) {
  const styles = [];
  if (spec.casing) styles.push(new Style({ stroke: new Stroke({ color: spec.casing.color, width: spec.casing.width }), zIndex: 0 }));
  if (spec.point) {
    const text = spec.point.glyph ? new Text({ text: spec.point.glyph, font: 'bold 9px sans-serif', fill: new Fill({ color: '#fff' }) }) : undefined;
    styles.push(new Style({ image: pointImage(spec.point), text, zIndex: 2 }));
    return styles;
  }
  styles.push(
    new Style({
      fill: spec.fill ? new Fill({ color: spec.fill }) : undefined,
      stroke: spec.stroke ? new Stroke({ color: spec.stroke, width: spec.width, lineDash: spec.dash || undefined }) : undefined,
      zIndex: 1,
    }),
  );
  if (spec.hatch) styles.push(new Style({ fill: new Fill({ color: hatchPattern(spec.hatch, spec.stroke || '#555') }), zIndex: 1 }));
  return styles;
}

function labelStyle(text, { color = '#222', font = '12px sans-serif', placement = 'point' } = {}) {
  return new Style({
    text: new Text({ text, font, placement, fill: new Fill({ color }), stroke: new Stroke({ color: 'rgba(255,255,255,0.9)', width: 3 }), overflow: false }),
    zIndex: 3,
  });
}

function highlightStyles(geometryType) {
  if (geometryType === 'Point' || geometryType === 'MultiPoint') {
    return [new Style({ image: new CircleStyle({ radius: 11, stroke: new Stroke({ color: HIGHLIGHT.stroke, width: 3 }), fill: new Fill({ color: 'rgba(255,179,0,0.25)' }) }), zIndex: 10 })];
  }
  return [
    new Style({ stroke: new Stroke({ color: HIGHLIGHT.halo, width: HIGHLIGHT.width + 4 }), zIndex: 10 }),
    new Style({ stroke: new Stroke({ color: HIGHLIGHT.stroke, width: HIGHLIGHT.width }), zIndex: 11 }),
  ];
}

/** A style function for a data layer of `kind`; OL styles are cached per class. */
function layerStyle(kind, part = 'all') {
  const cache = new Map();
  return (feature) => {
    const props = feature.getProperties();
    let spec = styleSpec(kind, props);
    if (part === 'fill') spec = { ...spec, stroke: null };
    else if (part === 'outline') spec = { ...spec, fill: null, hatch: null };
    let styles = cache.get(spec.key);
    if (!styles) {
      styles = olStyles(spec);
      cache.set(spec.key, styles);
    }
    return styles;
  };
}

/** An overlay's spec: a preset name, a spec object, or a function of the properties. */
function overlaySpec(style, props) {
  const chosen = typeof style === 'function' ? style(props) : style;
  const spec = typeof chosen === 'string' ? OVERLAY_PRESETS[chosen] : chosen;
  return { ...OVERLAY_PRESETS.default, ...(spec || {}) };
}

function overlayStyle(entry) {
  return (feature) => {
    const props = feature.getProperties();
    const spec = overlaySpec(entry.style, props);
    const type = feature.getGeometry() ? feature.getGeometry().getType() : '';
    let styles;
    if (type === 'Point' || type === 'MultiPoint') {
      styles = [new Style({ image: new CircleStyle({ radius: 7, fill: new Fill({ color: spec.stroke }), stroke: new Stroke({ color: '#fff', width: 2 }) }) })];
    } else {
      styles = olStyles({ ...spec, casing: null, point: null });
    }
    if (spec.label && props[spec.label] !== undefined && props[spec.label] !== null) {
      styles = [...styles, labelStyle(String(props[spec.label]), { font: 'bold 13px sans-serif', color: spec.stroke })];
    }
    if (entry.highlighted !== null && String(feature.getId()) === entry.highlighted) styles = [...styles, ...highlightStyles(type)];
    return styles;
  };
}

// --- helpers ----------------------------------------------------------------------------

/** GeoJSON in, OL features out; ids from `id`, else `properties.id`, else the position. */
function readGeoJSON(data) {
  let doc = data;
  if (typeof doc === 'string') doc = JSON.parse(doc);
  if (!doc || typeof doc !== 'object' || typeof doc.type !== 'string') throw new TypeError('expected GeoJSON: a FeatureCollection, a Feature or a geometry');
  if (doc.type !== 'FeatureCollection' && doc.type !== 'Feature') doc = { type: 'Feature', geometry: doc, properties: {} };
  const features = geojson.readFeatures(doc);
  features.forEach((feature, i) => {
    if (feature.getId() === undefined) {
      const pid = feature.get('id');
      feature.setId(pid !== undefined && pid !== null ? String(pid) : String(i));
    }
  });
  return features;
}

function bboxToExtent(bbox) {
  return transformExtent(bbox, LONLAT, MERCATOR);
}

function statusText(status) {
  return status ? `HTTP ${status}` : 'network';
}

/**
 * Create a widget's map in `element`: tiles and features through the widget's session
 * (`ctx.api`), the server's configured basemap (none with `basemap: false`), the widget's
 * locale; other options as for `createMap`.
 */
export function createWidgetMap(ctx, element, { basemap = true, ...options } = {}) {
  return createMap(element, {
    fetch: (url) => ctx.api(url, { raw: true }),
    basemapUrl: basemap ? ctx.config.basemap_url || null : null,
    locale: ctx.locale,
    ...options,
  });
}

/**
 * Create a map in `element`.
 *
 * @param {HTMLElement} element  where the map goes (its height comes from CSS: set one).
 * @param {object} [options]
 * @param {Array<{id:string, kind:string, name?:string, department?:string, restricted?:boolean,
 *   bbox?:number[], visible?:boolean}>} [options.layers]  catalogue entries
 *   (GET /api/v1/layers) to draw through the vector tiles; `visible` false = off at first.
 * @param {(url:string, init?:object) => Promise<Response>} [options.fetch]  fetches tiles and
 *   features of RESTRICTED layers; it must add the session's `Authorization` header (in a
 *   widget: `(url) => ctx.api(url, {raw: true})`). Public layers use plain fetch.
 * @param {string} [options.baseUrl='']  the PlanFuse server root (tiles at
 *   `${baseUrl}/tiles/...`); empty = this page's origin.
 * @param {string} [options.basemapUrl]  an XYZ tile URL template ({z}/{x}/{y}); omitted or
 *   invalid = no basemap, nothing is fetched from outside.
 * @param {string} [options.basemapAttribution]  the basemap's credit line.
 * @param {'zh-CN'|'en'} [options.locale='zh-CN']
 * @param {number[]} [options.center]  [lon, lat] (EPSG:4490) to open at; with `zoom`.
 * @param {number} [options.zoom]
 * @param {boolean} [options.identify=true]  click / Enter shows the features' attributes.
 * @param {boolean} [options.tools=false]  show the measure toolbar (distance, area, clear).
 * @param {(sel: object|null) => void} [options.onSelect]  = on('select', fn)
 * @param {(result: object) => void} [options.onIdentify]  = on('identify', fn)
 * @returns {MapHandle}
 */
export function createMap(element, options = {}) {
  const o = options;
  const locale = o.locale === 'en' ? 'en' : 'zh-CN';
  const t = mapTranslator(locale);
  const baseUrl = (o.baseUrl || '').replace(/\/$/, '');
  const authFetch = o.fetch || ((url, init) => fetch(url, init));
  const listeners = new Map();
  const districtNames = new Map();
  const layerErrors = new Set();
  const disposers = [];

  function emit(name, payload) {
    for (const fn of listeners.get(name) || []) {
      try {
        fn(payload);
      } catch (error) {
        console.error(error); // a listener's bug must not break the map
      }
    }
  }
  function on(name, fn) {
    if (!listeners.has(name)) listeners.set(name, new Set());
    listeners.get(name).add(fn);
    return () => listeners.get(name).delete(fn);
  }
  if (o.onSelect) on('select', o.onSelect);
  if (o.onIdentify) on('identify', o.onIdentify);

  // --- DOM ------------------------------------------------------------------------------
  element.classList.add('pf-map');
  const instructionsId = `pf-map-help-${Math.random().toString(36).slice(2, 9)}`;
  const canvasHost = el('div', 'pf-map-canvas');
  canvasHost.tabIndex = 0;
  canvasHost.setAttribute('role', 'application');
  canvasHost.setAttribute('aria-roledescription', t('map.label'));
  canvasHost.setAttribute('aria-label', t('map.label'));
  canvasHost.setAttribute('aria-describedby', instructionsId);
  const instructions = el('p', 'pf-visually-hidden', t('map.instructions'));
  instructions.id = instructionsId;
  const printImage = el('img', 'pf-map-print');
  printImage.alt = t('map.print_alt');
  const status = el('div', 'pf-map-status');
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  const popup = el('div', 'pf-map-popup');
  popup.setAttribute('role', 'dialog');
  popup.setAttribute('aria-label', t('map.popup'));
  popup.hidden = true;
  element.append(instructions, canvasHost, printImage, status);

  // --- layers ---------------------------------------------------------------------------
  const tileGrid = createXYZ({ maxZoom: TILE_MAX_ZOOM, tileSize: 256 });
  const dataLayers = new Map();

  function tileLoader(entry) {
    return (tile, url) => {
      tile.setLoader((extent, resolution, projection) => {
        const request = entry.restricted ? authFetch(url) : fetch(url, { credentials: 'omit' });
        Promise.resolve(request)
          .then(async (res) => {
            if (res.status === 204) return tile.setFeatures([]);
            if (!res.ok) throw Object.assign(new Error(`tile ${res.status}`), { status: res.status });
            const features = tile.getFormat().readFeatures(await res.arrayBuffer(), { extent, featureProjection: projection });
            if (entry.kind === 'district') for (const f of features) if (f.get('adcode') && f.get('name')) districtNames.set(String(f.get('adcode')), String(f.get('name')));
            tile.setFeatures(features);
          })
          .catch((error) => {
            tile.setState(TileState.ERROR);
            if (!layerErrors.has(entry.id)) {
              layerErrors.add(entry.id);
              const text = t('map.layer_failed', { name: entry.name || entry.id, status: statusText(error.status) });
              status.textContent = text;
              emit('error', { layer: entry.id, status: error.status || 0, code: error.code || 'layer_unavailable', message: text });
            }
          });
      });
    };
  }

  function makeDataLayer(entry) {
    const extent = Array.isArray(entry.bbox) && entry.bbox.length === 4 ? bboxToExtent(entry.bbox) : null;
    const template = `${baseUrl}/tiles/${encodeURIComponent(entry.id)}/{z}/{x}/{y}.mvt`;
    const source = new VectorTileSource({
      format: new MVT(),
      tileGrid,
      // Tiles outside the layer's bbox are not asked for (the server would answer 204).
      tileUrlFunction(coord) {
        if (extent && !intersects(tileGrid.getTileCoordExtent(coord), extent)) return undefined;
        return template.replace('{z}', coord[0]).replace('{x}', coord[1]).replace('{y}', coord[2]);
      },
      tileLoadFunction: tileLoader(entry),
      wrapX: false,
    });
    const order = KIND_ORDER.indexOf(entry.kind);
    const base = entry.kind === 'district';
    const layer = new VectorTileLayer({
      source,
      // The district base layer: its fill under every plan, its boundaries over them.
      style: layerStyle(entry.kind, base ? 'fill' : 'all'),
      visible: entry.visible !== false,
      zIndex: 10 + (order < 0 ? KIND_ORDER.length : order),
      renderBuffer: 64,
    });
    layer.set('pf', { type: 'data', entry, identify: true });
    const parts = [layer];
    if (base) {
      const outline = new VectorTileLayer({ source, style: layerStyle(entry.kind, 'outline'), visible: entry.visible !== false, zIndex: 10 + KIND_ORDER.length, renderBuffer: 64 });
      outline.set('pf', { type: 'outline', entry, identify: false });
      parts.push(outline);
    }
    dataLayers.set(entry.id, { entry, layer, parts, extent });
    return parts;
  }

  const layers = [];
  const template = basemapTemplate(o.basemapUrl);
  if (template) {
    const basemap = new TileLayer({
      // crossOrigin so the print image can read it back; a host without CORS still shows
      // on screen, and toImage() then falls back to the live canvases.
      source: new XYZ({ url: template, crossOrigin: 'anonymous', attributions: o.basemapAttribution || undefined, maxZoom: 18 }),
      zIndex: 0,
    });
    basemap.set('pf', { type: 'basemap', identify: false });
    layers.push(basemap);
  }
  for (const entry of o.layers || []) layers.push(...makeDataLayer(entry));

  // District names: one label per district in view, at an interior point of its largest
  // visible piece (labelled tile by tile, a district cut by tile edges would repeat its name).
  const labelSource = new VectorSource();
  const labelLayer = new VectorLayer({
    source: labelSource,
    declutter: true,
    zIndex: 10 + KIND_ORDER.length + 2,
    maxResolution: DISTRICT_LABEL_MAX_RESOLUTION,
    style: (f) => labelStyle(f.get('name'), { font: '13px sans-serif', color: '#333' }),
  });
  layers.push(labelLayer);

  const identifySource = new VectorSource();
  const identifyLayer = new VectorLayer({ source: identifySource, zIndex: TOP_Z, style: (f) => highlightStyles(f.getGeometry().getType()) });
  const measureSource = new VectorSource();
  const measureLayer = new VectorLayer({
    source: measureSource,
    zIndex: TOP_Z + 1,
    style: (f) => {
      const styles = olStyles({ ...OVERLAY_PRESETS.drawing, point: null, casing: null });
      if (f.get('label')) styles.push(labelStyle(f.get('label'), { font: 'bold 13px sans-serif', color: '#0B3D91', placement: 'point' }));
      return styles;
    },
  });
  layers.push(identifyLayer, measureLayer);

  const allBbox = unionBbox((o.layers || []).map((l) => l.bbox));
  const view = new View({
    projection: MERCATOR,
    center: fromLonLat(o.center || DEFAULT_CENTER),
    zoom: Number.isFinite(o.zoom) ? o.zoom : DEFAULT_ZOOM,
    maxZoom: VIEW_MAX_ZOOM,
    constrainResolution: false,
  });

  const popupOverlay = new Overlay({ element: popup, positioning: 'bottom-center', offset: [0, -12], autoPan: { animation: { duration: 0 }, margin: 16 }, stopEvent: true });
  const map = new OlMap({
    target: canvasHost,
    layers,
    view,
    overlays: [popupOverlay],
    controls: [
      new Zoom({ zoomInTipLabel: t('map.zoom_in'), zoomOutTipLabel: t('map.zoom_out') }),
      new ScaleLine({ units: 'metric' }),
      ...(template ? [new Attribution({ collapsible: false })] : []),
    ],
    interactions: defaultInteractions({ onFocusOnly: false }),
  });
  if (!o.center && allBbox) view.fit(bboxToExtent(allBbox), { padding: [PAD_PX, PAD_PX, PAD_PX, PAD_PX], size: map.getSize() || [element.clientWidth || 600, element.clientHeight || 400] });

  let labelsKey = '';
  function updateLabels() {
    const viewExtent = view.calculateExtent(map.getSize());
    const best = new Map();
    for (const { entry, layer } of dataLayers.values()) {
      if (entry.kind !== 'district' || !layer.getVisible()) continue;
      for (const piece of layer.getFeaturesInExtent(viewExtent)) {
        const name = piece.get('name');
        if (!name) continue;
        const inView = getIntersection(piece.getExtent(), viewExtent);
        const size = extentArea(inView);
        const key = `${entry.id}/${piece.get('adcode') ?? name}`;
        if (!best.has(key) || best.get(key).size < size) best.set(key, { piece, size, inView, name });
      }
    }
    const labels = [...best.values()].map(({ piece, inView, name }) => {
      let point = piece.getType() === 'Polygon' ? piece.getFlatInteriorPoint().slice(0, 2) : null;
      if (!point || !containsCoordinate(viewExtent, point)) point = getCenter(inView);
      return { name: String(name), point };
    });
    const key = JSON.stringify(labels.map((l) => [l.name, Math.round(l.point[0]), Math.round(l.point[1])]));
    if (key === labelsKey) return;
    labelsKey = key;
    labelSource.clear();
    labelSource.addFeatures(labels.map((l) => new Feature({ geometry: new Point(l.point), name: l.name })));
  }
  let labelTimer = null;
  function scheduleLabels() {
    clearTimeout(labelTimer);
    labelTimer = setTimeout(updateLabels, LABEL_DELAY_MS);
  }
  map.on('moveend', scheduleLabels);
  for (const { entry, layer } of dataLayers.values()) {
    if (entry.kind !== 'district') continue;
    layer.getSource().on('tileloadend', scheduleLabels);
    layer.on('change:visible', scheduleLabels);
  }
  disposers.push(() => clearTimeout(labelTimer));

  // --- overlays -------------------------------------------------------------------------
  const overlays = new Map();

  function setOverlay(name, data, style) {
    if (typeof name !== 'string' || !name) throw new TypeError('an overlay needs a name');
    const features = readGeoJSON(data);
    let entry = overlays.get(name);
    if (!entry) {
      const source = new VectorSource();
      entry = { name, source, style: style || name, highlighted: null, layer: null };
      entry.layer = new VectorLayer({ source, zIndex: OVERLAY_Z + overlays.size, style: overlayStyle(entry) });
      entry.layer.set('pf', { type: 'overlay', name, identify: true });
      overlays.set(name, entry);
      map.addLayer(entry.layer);
    } else if (style) entry.style = style;
    entry.source.clear();
    entry.source.addFeatures(features);
    entry.highlighted = null;
    entry.layer.changed();
    return features.length;
  }

  function clearOverlay(name) {
    const entry = overlays.get(name);
    if (!entry) return false;
    map.removeLayer(entry.layer);
    entry.source.clear();
    overlays.delete(name);
    return true;
  }

  function highlight(name, id, { zoom = false } = {}) {
    let found = false;
    for (const entry of overlays.values()) {
      const match = name === entry.name && id !== null && id !== undefined ? entry.source.getFeatureById(String(id)) : null;
      entry.highlighted = match ? String(id) : null;
      entry.layer.changed();
      if (match) {
        found = true;
        if (zoom) fitExtent(match.getGeometry().getExtent());
      }
    }
    return found;
  }

  function fitExtent(extent, { padding = PAD_PX, maxZoom = 18 } = {}) {
    if (!extent || isEmpty(extent)) return false;
    view.fit(extent, { padding: [padding, padding, padding, padding], maxZoom, duration: 0 });
    return true;
  }

  /** fitTo(overlay name | layer id | [minLon, minLat, maxLon, maxLat] | {overlay, id}) */
  function fitTo(target, opts = {}) {
    if (Array.isArray(target)) return fitExtent(bboxToExtent(target), opts);
    if (target && typeof target === 'object' && target.overlay) {
      const entry = overlays.get(target.overlay);
      const feature = entry && entry.source.getFeatureById(String(target.id));
      return feature ? fitExtent(feature.getGeometry().getExtent(), opts) : false;
    }
    if (overlays.has(target)) return fitExtent(overlays.get(target).source.getExtent(), opts);
    if (dataLayers.has(target)) return fitExtent(dataLayers.get(target).extent, opts);
    if (target === 'all' || target === undefined) {
      const extent = createEmpty();
      for (const entry of overlays.values()) extendExtent(extent, entry.source.getExtent());
      if (isEmpty(extent) && allBbox) return fitExtent(bboxToExtent(allBbox), opts);
      return fitExtent(extent, opts);
    }
    return false;
  }

  function setLayerVisible(id, visible) {
    const data = dataLayers.get(id);
    if (data) {
      for (const part of data.parts) part.setVisible(Boolean(visible));
      data.entry.visible = Boolean(visible);
      return true;
    }
    const entry = overlays.get(id);
    if (entry) {
      entry.layer.setVisible(Boolean(visible));
      return true;
    }
    return false;
  }

  // --- identify ---------------------------------------------------------------------------
  let popupOpenedByKey = false;

  function closePopup({ restoreFocus = false } = {}) {
    if (popup.hidden) return false;
    popup.hidden = true;
    popupOverlay.setPosition(undefined);
    identifySource.clear();
    if (restoreFocus || popup.contains(document.activeElement)) canvasHost.focus();
    return true;
  }

  function attributeTable(kind, props) {
    const table = el('table', 'pf-map-attributes');
    const body = el('tbody');
    for (const row of describeAttributes(kind, props, { locale, districtNames })) {
      const tr = el('tr');
      tr.dataset.key = row.key;
      tr.append(el('th', '', row.label), el('td', '', row.value));
      body.append(tr);
    }
    table.append(body);
    return table;
  }

  async function fetchFeature(entry, fid) {
    const url = `${baseUrl}/ogc/collections/${encodeURIComponent(entry.id)}/items/${encodeURIComponent(fid)}`;
    const res = await (entry.restricted ? authFetch(url) : fetch(url, { credentials: 'omit', headers: { Accept: 'application/geo+json' } }));
    if (!res.ok) throw Object.assign(new Error(`feature ${res.status}`), { status: res.status });
    return res.json();
  }

  function showPopup(coordinate, hits) {
    popup.textContent = '';
    const close = el('button', 'pf-map-popup-close', '×');
    close.type = 'button';
    close.setAttribute('aria-label', t('map.close'));
    close.addEventListener('click', () => closePopup({ restoreFocus: true }));
    popup.append(close);
    if (!hits.length) popup.append(el('p', 'pf-map-popup-empty', t('map.nothing_here')));
    for (const hit of hits) {
      const section = el('section', 'pf-map-hit');
      section.dataset.layer = hit.layer;
      section.dataset.fid = hit.fid ?? '';
      const heading = el('h3', '', hit.layerName);
      const meta = el('p', 'pf-map-hit-meta', hit.kind ? kindTitle(hit.kind, locale) : t('map.overlay'));
      if (hit.department) meta.textContent += ` · ${t('map.department')}：${hit.department}`;
      section.append(heading, meta, attributeTable(hit.kind, hit.properties));
      popup.append(section);
      if (hit.entry && hit.fid !== null && hit.fid !== undefined) {
        const pending = el('p', 'pf-map-popup-pending', t('map.more_attributes'));
        section.append(pending);
        fetchFeature(hit.entry, hit.fid)
          .then((feature) => {
            const props = { ...(feature.properties || {}), fid: hit.fid };
            section.querySelector('table').replaceWith(attributeTable(hit.kind, props));
            if (feature.geometry && hits[0] === hit) identifySource.addFeatures(readGeoJSON(feature));
          })
          .catch(() => {})
          .finally(() => pending.remove());
      }
    }
    popup.hidden = false;
    popupOverlay.setPosition(coordinate);
    if (popupOpenedByKey) close.focus();
  }

  function identifyAt(pixel) {
    const coordinate = map.getCoordinateFromPixel(pixel);
    const hits = [];
    const seen = new Set();
    let selected = null;
    map.forEachFeatureAtPixel(
      pixel,
      (feature, layer) => {
        const info = layer.get('pf');
        if (info.type === 'overlay') {
          if (!selected) selected = { overlay: info.name, id: String(feature.getId()), properties: withoutGeometry(feature.getProperties()) };
          return undefined;
        }
        const { entry } = info;
        const props = withoutGeometry(feature.getProperties());
        const fid = props.fid ?? feature.getId();
        const key = `${entry.id}/${fid}`;
        if (seen.has(key)) return undefined;
        seen.add(key);
        hits.push({ layer: entry.id, layerName: entry.name || entry.id, kind: entry.kind, department: entry.department || '', fid, properties: props, entry });
        return hits.length >= MAX_IDENTIFY ? true : undefined;
      },
      { hitTolerance: HIT_TOLERANCE_PX, layerFilter: (layer) => Boolean(layer.get('pf') && layer.get('pf').identify && layer.getVisible()) },
    );
    if (selected) {
      highlight(selected.overlay, selected.id);
      emit('select', selected);
    }
    identifySource.clear();
    if (o.identify !== false) {
      // An analysis result under the pointer is listed first, with its own properties.
      const overlayHit = selected && { layer: `overlay:${selected.overlay}`, layerName: String(selected.properties.name ?? t('map.overlay')), kind: null, department: '', fid: selected.id, properties: selected.properties };
      showPopup(coordinate, overlayHit ? [overlayHit, ...hits] : hits);
    }
    const [lon, lat] = toLonLat(coordinate);
    emit('identify', {
      coordinate: [lon, lat],
      features: hits.map((h) => ({ layer: h.layer, layer_name: h.layerName, kind: h.kind, fid: h.fid, properties: h.properties })),
      overlay: selected,
    });
  }

  function withoutGeometry(props) {
    const copy = { ...props };
    delete copy.geometry;
    delete copy.layer;
    return copy;
  }

  map.on('singleclick', (event) => {
    if (sketch) return;
    popupOpenedByKey = false;
    identifyAt(event.pixel);
  });

  // --- measuring and drawing --------------------------------------------------------------
  let sketch = null;
  const tools = o.tools ? buildTools() : null;

  function buildTools() {
    const bar = el('div', 'pf-map-tools pf-no-print');
    bar.setAttribute('role', 'toolbar');
    bar.setAttribute('aria-label', `${t('map.measure_distance')} / ${t('map.measure_area')}`);
    const make = (kind, text) => {
      const b = el('button', 'pf-map-tool', text);
      b.type = 'button';
      b.dataset.tool = kind;
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('click', () => {
        if (kind === 'finish') return sketch && sketch.draw.finishDrawing();
        if (kind === 'clear') return measure(null);
        measure(sketch && sketch.mode === kind ? null : kind);
        canvasHost.focus();
      });
      bar.append(b);
      return b;
    };
    const buttons = {
      distance: make('distance', t('map.measure_distance')),
      area: make('area', t('map.measure_area')),
      finish: make('finish', t('map.finish')),
      clear: make('clear', t('map.clear')),
    };
    buttons.finish.hidden = true;
    const result = el('output', 'pf-map-measure-result');
    result.setAttribute('aria-live', 'polite');
    bar.append(result);
    element.prepend(bar);
    return { bar, buttons, result };
  }

  function syncTools() {
    if (!tools) return;
    for (const kind of ['distance', 'area']) tools.buttons[kind].setAttribute('aria-pressed', String(Boolean(sketch && sketch.mode === kind)));
    tools.buttons.finish.hidden = !sketch;
  }

  function measureText(mode, geometry) {
    return mode === 'distance' ? formatLength(getLength(geometry, { projection: MERCATOR }), locale) : formatArea(getArea(geometry, { projection: MERCATOR }), locale);
  }

  function stopSketch(result) {
    if (!sketch) return;
    const current = sketch;
    sketch = null;
    map.removeInteraction(current.draw);
    current.unlisten();
    if (current.resolve) current.resolve(result ?? null);
    syncTools();
  }

  function startSketch(mode, resolve) {
    stopSketch(null);
    closePopup();
    const type = mode === 'distance' ? 'LineString' : 'Polygon';
    const draw = new Draw({ source: mode === 'draw' ? undefined : measureSource, type, stopClick: true, style: olStyles({ ...OVERLAY_PRESETS.drawing, point: null, casing: null }).concat(new Style({ image: new CircleStyle({ radius: 4, fill: new Fill({ color: '#0B5CAD' }) }) })) });
    const keys = [];
    draw.on('drawstart', (event) => {
      if (mode !== 'draw') measureSource.clear();
      const geometry = event.feature.getGeometry();
      const update = () => {
        if (mode === 'draw') return;
        const text = measureText(mode, geometry).text;
        status.textContent = t(mode === 'distance' ? 'map.measure_result_distance' : 'map.measure_result_area', { text });
      };
      keys.push(geometry.on('change', update));
    });
    draw.on('drawend', (event) => {
      const geometry = event.feature.getGeometry();
      if (mode === 'draw') {
        const out = geojson.writeGeometryObject(geometry, { decimals: 8 });
        stopSketch(out);
        return;
      }
      const m = measureText(mode, geometry);
      event.feature.set('label', m.text);
      const lonlat = geojson.writeGeometryObject(geometry, { decimals: 8 });
      const text = t(mode === 'distance' ? 'map.measure_result_distance' : 'map.measure_result_area', { text: m.text });
      status.textContent = text;
      if (tools) {
        tools.result.textContent = text;
        tools.result.dataset.kind = mode;
        tools.result.dataset.value = String(mode === 'distance' ? m.value_m : m.value_m2);
      }
      emit('measure', mode === 'distance' ? { kind: mode, value_m: m.value_m, text: m.text, geometry: lonlat } : { kind: mode, value_m2: m.value_m2, mu: m.mu, text: m.text, geometry: lonlat });
    });
    map.addInteraction(draw);
    sketch = { mode, draw, resolve, unlisten: () => unByKey(keys) };
    status.textContent = t('map.measure_hint');
    syncTools();
  }

  /** measure('distance' | 'area') starts measuring; measure(null) stops and clears. */
  function measure(kind) {
    if (kind === 'distance' || kind === 'area') return startSketch(kind, null);
    stopSketch(null);
    measureSource.clear();
    status.textContent = '';
    if (tools) {
      tools.result.textContent = '';
      delete tools.result.dataset.value;
    }
    return undefined;
  }

  /** draw('Polygon') → Promise of the drawn geometry (GeoJSON, EPSG:4490), null if cancelled. */
  function draw(kind = 'Polygon') {
    if (kind === null) {
      stopSketch(null);
      return Promise.resolve(null);
    }
    if (kind !== 'Polygon') return Promise.reject(new TypeError(`draw() draws a Polygon, not ${kind}`));
    return new Promise((resolve) => startSketch('draw', resolve));
  }

  // --- keyboard ---------------------------------------------------------------------------
  function centerPixel() {
    const size = map.getSize() || [0, 0];
    return [size[0] / 2, size[1] / 2];
  }

  function onKey(event) {
    if (event.target !== canvasHost) {
      if (event.key === 'Escape' && closePopup({ restoreFocus: true })) event.preventDefault();
      return;
    }
    if (event.key === 'Escape') {
      if (closePopup()) event.preventDefault();
      else if (sketch) {
        if (sketch.draw.getOverlay().getSource().getFeatures().length) sketch.draw.abortDrawing();
        else stopSketch(null);
        event.preventDefault();
      }
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (sketch) {
        if (event.shiftKey || event.ctrlKey) sketch.draw.finishDrawing();
        else sketch.draw.appendCoordinates([view.getCenter().slice()]);
      } else {
        popupOpenedByKey = true;
        identifyAt(centerPixel());
      }
    } else if ((event.key === 'Backspace' || event.key === 'Delete') && sketch) {
      event.preventDefault();
      sketch.draw.removeLastPoint();
    } else if (event.key === '=' && !event.ctrlKey && !event.metaKey) {
      // '+' without Shift on most keyboards; OpenLayers itself reads only '+' and '-'.
      event.preventDefault();
      view.animate({ zoom: view.getZoom() + 1, duration: 100 });
    }
  }
  element.addEventListener('keydown', onKey);
  disposers.push(() => element.removeEventListener('keydown', onKey));

  // --- print and image --------------------------------------------------------------------
  /** The map as one canvas (white background); throws if a basemap tainted it. */
  function composeCanvas() {
    const size = map.getSize();
    if (!size) return null;
    const ratio = Math.max(1, window.devicePixelRatio || 1);
    const out = document.createElement('canvas');
    out.width = Math.round(size[0] * ratio);
    out.height = Math.round(size[1] * ratio);
    const g = out.getContext('2d');
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, out.width, out.height);
    for (const canvas of map.getViewport().querySelectorAll('.ol-layer canvas, canvas.ol-layer')) {
      if (!canvas.width) continue;
      const opacity = canvas.parentNode.style.opacity || canvas.style.opacity;
      g.globalAlpha = opacity === '' ? 1 : Number(opacity);
      // Each layer canvas carries the transform from its pixels to CSS pixels.
      const match = canvas.style.transform.match(/^matrix\(([^(]*)\)$/);
      const m = match
        ? match[1].split(',').map(Number)
        : [parseFloat(canvas.style.width) / canvas.width || 1 / ratio, 0, 0, parseFloat(canvas.style.height) / canvas.height || 1 / ratio, 0, 0];
      g.setTransform(ratio, 0, 0, ratio, 0, 0);
      g.transform(m[0], m[1], m[2], m[3], m[4], m[5]);
      g.drawImage(canvas, 0, 0);
    }
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.globalAlpha = 1;
    drawScaleBar(g, size);
    g.setTransform(1, 0, 0, 1, 0, 0);
    return out;
  }

  /** The scale line, as the screen shows it, drawn into an image (bottom left). */
  function drawScaleBar(g, size) {
    const inner = map.getViewport().querySelector('.ol-scale-line-inner');
    const width = inner ? inner.offsetWidth : 0;
    if (!width) return;
    const x = 12;
    const y = size[1] - 14;
    g.fillStyle = 'rgba(255,255,255,0.85)';
    g.fillRect(x - 6, y - 22, width + 12, 30);
    g.strokeStyle = '#000';
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(x, y - 6);
    g.lineTo(x, y);
    g.lineTo(x + width, y);
    g.lineTo(x + width, y - 6);
    g.stroke();
    g.fillStyle = '#000';
    g.font = '12px sans-serif';
    g.textAlign = 'center';
    g.fillText(inner.textContent, x + width / 2, y - 6);
  }

  function imageNow() {
    try {
      const canvas = composeCanvas();
      return canvas ? canvas.toDataURL('image/png') : null;
    } catch {
      return null; // tainted by a basemap without CORS: print the live canvases instead
    }
  }

  /** A PNG data URL of the map once its tiles have loaded (null if it cannot be read). */
  function toImage() {
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve(imageNow());
      };
      map.once('rendercomplete', finish);
      setTimeout(finish, IMAGE_WAIT_MS);
      map.render();
    });
  }

  function beforePrint() {
    const url = imageNow();
    if (!url) return;
    printImage.src = url;
    element.classList.add('pf-map-printing');
  }
  function afterPrint() {
    element.classList.remove('pf-map-printing');
    printImage.removeAttribute('src');
  }
  window.addEventListener('beforeprint', beforePrint);
  window.addEventListener('afterprint', afterPrint);
  disposers.push(() => {
    window.removeEventListener('beforeprint', beforePrint);
    window.removeEventListener('afterprint', afterPrint);
  });

  map.on('moveend', () => {
    const [lon, lat] = toLonLat(view.getCenter());
    emit('moveend', { center: [lon, lat], zoom: view.getZoom() });
  });

  // The element may get its size after we were created (e.g. a panel opened).
  if (typeof ResizeObserver !== 'undefined') {
    const observer = new ResizeObserver(() => map.updateSize());
    observer.observe(canvasHost);
    disposers.push(() => observer.disconnect());
  }

  /**
   * @typedef {object} MapHandle
   * @property {(name:string, geojson:object, style?:string|object|Function) => number} setOverlay
   *   show GeoJSON (EPSG:4490 lon/lat) as overlay `name`, replacing its features; `style` is a
   *   preset ('project', 'overlap', 'candidate', 'conflict', 'default'), a spec {stroke, fill,
   *   width, dash, hatch, label} or a function of a feature's properties returning one.
   *   Returns the number of features. Feature ids: GeoJSON `id`, else `properties.id`.
   * @property {(name:string, geojson:object, style?:any) => number} addOverlay  same as setOverlay
   * @property {(name:string) => boolean} clearOverlay
   * @property {(name:string|null, id?:string|number, opts?:{zoom?:boolean}) => boolean} highlight
   *   mark one overlay feature (null clears); `zoom` fits the view to it.
   * @property {(target:string|number[]|{overlay:string,id:string|number}, opts?:{padding?:number,maxZoom?:number}) => boolean} fitTo
   *   overlay name, layer id, [minLon, minLat, maxLon, maxLat], one overlay feature, or 'all'.
   * @property {(id:string, visible:boolean) => boolean} setLayerVisible  data layer or overlay
   * @property {(event:string, fn:Function) => Function} on  events: 'identify', 'select',
   *   'measure', 'moveend', 'error'; returns a function that removes the listener.
   * @property {(kind:'distance'|'area'|null) => void} measure
   * @property {(kind?:'Polygon'|null) => Promise<object|null>} draw
   * @property {() => Promise<string|null>} toImage  PNG data URL
   * @property {() => void} closePopup
   * @property {() => void} destroy
   * @property {import('ol/Map.js').default} olMap  the OpenLayers map, for what this API lacks
   */
  return {
    setOverlay,
    addOverlay: setOverlay,
    clearOverlay,
    highlight,
    fitTo,
    setLayerVisible,
    on,
    measure,
    draw,
    toImage,
    closePopup: () => closePopup(),
    olMap: map,
    destroy() {
      stopSketch(null);
      disposers.forEach((fn) => fn());
      listeners.clear();
      map.setTarget(undefined);
      map.dispose();
      element.textContent = '';
      element.classList.remove('pf-map', 'pf-map-printing');
    },
  };
}
