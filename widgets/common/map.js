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
// measuring, keyboard control and a print image. createMap puts together the parts in
// map/: layers.js (data layers, basemap, district names), overlays.js, popup.js (identify),
// measure.js (measuring and drawing), keyboard.js, print.js, view.js (fitting), styles.js
// and projection.js.
import OlMap from 'ol/Map.js';
import Attribution from 'ol/control/Attribution.js';
import ScaleLine from 'ol/control/ScaleLine.js';
import Zoom from 'ol/control/Zoom.js';
import { defaults as defaultInteractions } from 'ol/interaction/defaults.js';
import { toLonLat } from 'ol/proj.js';
import { el } from './dom.js';
import { bindKeyboard } from './map/keyboard.js';
import { basemapLayer, createDataLayers, showDistrictLabels } from './map/layers.js';
import { createImageOverlays } from './map/images.js';
import { createSketching } from './map/measure.js';
import { createOverlays } from './map/overlays.js';
import { createIdentify } from './map/popup.js';
import { createPrinting } from './map/print.js';
import { bboxToExtent } from './map/projection.js';
import { PAD_PX, createFitting, createView } from './map/view.js';
import { basemapTemplate, mapTranslator, unionBbox } from './map-model.js';

export { formatArea, formatLength, legendModel, legendItems, parseMapParams, styleSpec } from './map-model.js';

/** Listeners by event name; a listener that throws does not stop the others or the map. */
function createEmitter() {
  const listeners = new Map();
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
  return { emit, on, clear: () => listeners.clear() };
}

/** The map's own elements in `element`: the keyboard help, the canvas, the print image, the status line. */
function mapElements(element, t) {
  element.classList.add('pf-map');
  const instructions = el('p', 'pf-visually-hidden', t('map.instructions'));
  instructions.id = `pf-map-help-${Math.random().toString(36).slice(2, 9)}`;
  const canvasHost = el('div', 'pf-map-canvas');
  canvasHost.tabIndex = 0;
  canvasHost.setAttribute('role', 'application');
  canvasHost.setAttribute('aria-roledescription', t('map.label'));
  canvasHost.setAttribute('aria-label', t('map.label'));
  canvasHost.setAttribute('aria-describedby', instructions.id);
  const printImage = el('img', 'pf-map-print');
  printImage.alt = t('map.print_alt');
  const status = el('div', 'pf-map-status');
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  element.append(instructions, canvasHost, printImage, status);
  return { canvasHost, printImage, status };
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
 * @typedef {object} MapHandle
 * @property {(name:string, geojson:object, style?:string|object|Function) => number} setOverlay
 *   show GeoJSON (EPSG:4490 lon/lat) as overlay `name`, replacing its features; `style` is a
 *   preset ('project', 'overlap', 'candidate', 'conflict', 'default'), a spec {stroke, fill,
 *   width, dash, hatch, label} or a function of a feature's properties returning one.
 *   Returns the number of features. Feature ids: GeoJSON `id`, else `properties.id`.
 * @property {(name:string, geojson:object, style?:any) => number} addOverlay  same as setOverlay
 * @property {(name:string) => boolean} clearOverlay  a GeoJSON or image overlay
 * @property {(name:string, spec:{type:'wms'|'arcgis', url:string, params?:object, opacity?:number}) => void} setImageOverlay
 *   draw another service's pictures of the view as overlay `name` (a WMS GetMap or an ArcGIS
 *   MapServer export at `url`, fetched with `fetch`), between the data layers and the overlays.
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
  const { emit, on, clear: clearListeners } = createEmitter();
  if (o.onSelect) on('select', o.onSelect);
  if (o.onIdentify) on('identify', o.onIdentify);
  const disposers = [];
  const { canvasHost, printImage, status } = mapElements(element, t);

  const districtNames = new Map();
  const data = createDataLayers(o.layers || [], {
    baseUrl,
    authFetch,
    districtNames,
    onError(entry, error) {
      const text = t('map.layer_failed', { name: entry.name || entry.id, status: error.status ? `HTTP ${error.status}` : 'network' });
      status.textContent = text;
      emit('error', { layer: entry.id, status: error.status || 0, code: error.code || 'layer_unavailable', message: text });
    },
  });
  const template = basemapTemplate(o.basemapUrl);
  const view = createView(o);
  const map = new OlMap({
    target: canvasHost,
    layers: [...(template ? [basemapLayer(template, o.basemapAttribution)] : []), ...data.layers],
    view,
    controls: [
      new Zoom({ zoomInTipLabel: t('map.zoom_in'), zoomOutTipLabel: t('map.zoom_out') }),
      new ScaleLine({ units: 'metric' }),
      ...(template ? [new Attribution({ collapsible: false })] : []),
    ],
    interactions: defaultInteractions({ onFocusOnly: false }),
  });
  const allBbox = unionBbox((o.layers || []).map((l) => l.bbox));
  if (!o.center && allBbox) view.fit(bboxToExtent(allBbox), { padding: [PAD_PX, PAD_PX, PAD_PX, PAD_PX], size: map.getSize() || [element.clientWidth || 600, element.clientHeight || 400] });
  disposers.push(showDistrictLabels(map, data));

  const overlays = createOverlays(map);
  const images = createImageOverlays(map, {
    authFetch,
    onError(name, error) {
      const text = t('map.layer_failed', { name, status: error.status ? `HTTP ${error.status}` : 'network' });
      status.textContent = text;
      emit('error', { layer: name, status: error.status || 0, code: 'layer_unavailable', message: text });
    },
  });
  const { fitTo, highlight } = createFitting(view, { overlays, dataLayers: data, allBbox });

  const identify = createIdentify(map, { canvasHost, t, locale, districtNames, baseUrl, authFetch, highlight, emit, popups: o.identify !== false });
  const sketching = createSketching(map, { element, canvasHost, status, t, locale, emit, closePopup: () => identify.close(), tools: Boolean(o.tools) });
  map.on('singleclick', (event) => {
    if (!sketching.active()) identify.at(event.pixel);
  });
  disposers.push(bindKeyboard(map, { element, canvasHost, identify, sketching }));
  const printing = createPrinting(map, { element, printImage });
  disposers.push(printing.dispose);

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

  return {
    setOverlay: overlays.set,
    addOverlay: overlays.set,
    clearOverlay: (name) => overlays.clear(name) || images.clear(name),
    setImageOverlay: images.set,
    highlight,
    fitTo,
    setLayerVisible: (id, visible) => data.setVisible(id, visible) || overlays.setVisible(id, visible) || images.setVisible(id, visible),
    on,
    measure: sketching.measure,
    draw: sketching.draw,
    toImage: printing.toImage,
    closePopup: () => identify.close(),
    olMap: map,
    destroy() {
      sketching.stop();
      disposers.forEach((fn) => fn());
      clearListeners();
      map.setTarget(undefined);
      map.dispose();
      element.textContent = '';
      element.classList.remove('pf-map', 'pf-map-printing');
    },
  };
}
