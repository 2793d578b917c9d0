// The map's base: the catalogue's data layers drawn from PlanFuse's vector tiles
// (/tiles/{layer}/{z}/{x}/{y}.mvt, one style per kind), the optional XYZ basemap, and the
// district names placed once per district in view.
import Feature from 'ol/Feature.js';
import TileState from 'ol/TileState.js';
import { containsCoordinate, getArea as extentArea, getCenter, getIntersection, intersects } from 'ol/extent.js';
import MVT from 'ol/format/MVT.js';
import Point from 'ol/geom/Point.js';
import TileLayer from 'ol/layer/Tile.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorTileLayer from 'ol/layer/VectorTile.js';
import VectorSource from 'ol/source/Vector.js';
import VectorTileSource from 'ol/source/VectorTile.js';
import XYZ from 'ol/source/XYZ.js';
import { createXYZ } from 'ol/tilegrid.js';
import { KIND_ORDER, TILE_MAX_ZOOM } from '../map-model.js';
import { bboxToExtent } from './projection.js';
import { labelStyle, layerStyle } from './styles.js';

/** District labels appear from about zoom 9 (metres per pixel at that zoom). */
const DISTRICT_LABEL_MAX_RESOLUTION = 320;
/** District labels are placed this long after the view or the district tiles settle. */
const LABEL_DELAY_MS = 120;

/**
 * The data layers of the catalogue `entries` ({id, kind, name, restricted, bbox, visible}).
 * Tiles of RESTRICTED layers go through `authFetch` (the widget session), public ones
 * through plain fetch without cookies. District tiles fill `districtNames` (adcode → name)
 * for the identify popup. A layer whose tiles fail is reported once: onError(entry, error).
 *
 * Returns {layers: the OpenLayers layers, in order; byId: Map id → {entry, layer, parts,
 * extent}; setVisible(id, visible) → whether `id` is a data layer}.
 */
export function createDataLayers(entries, { baseUrl, authFetch, districtNames, onError }) {
  const tileGrid = createXYZ({ maxZoom: TILE_MAX_ZOOM, tileSize: 256 });
  const byId = new Map();
  const failed = new Set();

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
            if (failed.has(entry.id)) return;
            failed.add(entry.id);
            onError(entry, error);
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
    byId.set(entry.id, { entry, layer, parts, extent });
    return parts;
  }

  const layers = entries.flatMap(makeDataLayer);

  /** Show or hide a data layer (all its parts); the catalogue entry's `visible` follows. */
  function setVisible(id, visible) {
    const data = byId.get(id);
    if (!data) return false;
    for (const part of data.parts) part.setVisible(Boolean(visible));
    data.entry.visible = Boolean(visible);
    return true;
  }

  return { layers, byId, setVisible };
}

/**
 * The XYZ basemap under everything (`template` from the `basemap_url` setting), with its
 * credit line. crossOrigin lets the print image read it back; a host without CORS still
 * shows on screen, and toImage() then falls back to the live canvases.
 */
export function basemapLayer(template, attribution) {
  const basemap = new TileLayer({
    source: new XYZ({ url: template, crossOrigin: 'anonymous', attributions: attribution || undefined, maxZoom: 18 }),
    zIndex: 0,
  });
  basemap.set('pf', { type: 'basemap', identify: false });
  return basemap;
}

/**
 * District names on `map`: one label per district in view, at an interior point of its
 * largest visible piece (labelled tile by tile, a district cut by tile edges would repeat its
 * name). Returns a function that stops updating them.
 */
export function showDistrictLabels(map, dataLayers) {
  const view = map.getView();
  const source = new VectorSource();
  map.addLayer(
    new VectorLayer({
      source,
      declutter: true,
      zIndex: 10 + KIND_ORDER.length + 2,
      maxResolution: DISTRICT_LABEL_MAX_RESOLUTION,
      style: (f) => labelStyle(f.get('name'), { font: '13px sans-serif', color: '#333' }),
    }),
  );
  const districts = [...dataLayers.byId.values()].filter(({ entry }) => entry.kind === 'district');
  let shownKey = '';

  function update() {
    const viewExtent = view.calculateExtent(map.getSize());
    const best = new Map();
    for (const { entry, layer } of districts) {
      if (!layer.getVisible()) continue;
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
    if (key === shownKey) return;
    shownKey = key;
    source.clear();
    source.addFeatures(labels.map((l) => new Feature({ geometry: new Point(l.point), name: l.name })));
  }

  let timer = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(update, LABEL_DELAY_MS);
  }
  map.on('moveend', schedule);
  for (const { layer } of districts) {
    layer.getSource().on('tileloadend', schedule);
    layer.on('change:visible', schedule);
  }
  return () => clearTimeout(timer);
}
