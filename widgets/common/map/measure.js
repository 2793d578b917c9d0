// Measuring and drawing on the map: geodesic distance and area (the toolbar, or the
// `measure` command), and drawing a polygon a widget asks for (a red line, a search area).
// One sketch at a time; Escape, Enter and Backspace drive it from the keyboard (keyboard.js).
import { unByKey } from 'ol/Observable.js';
import Draw from 'ol/interaction/Draw.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import { getArea, getLength } from 'ol/sphere.js';
import { Circle as CircleStyle, Fill, Style } from 'ol/style.js';
import { el } from '../dom.js';
import { OVERLAY_PRESETS, formatArea, formatLength } from '../map-model.js';
import { MERCATOR, geojson } from './projection.js';
import { labelStyle, olStyles } from './styles.js';

/** Measurements draw above the overlays and the identify outline. */
const MEASURE_Z = 5001;

function sketchStyles() {
  return olStyles({ ...OVERLAY_PRESETS.drawing, point: null, casing: null });
}

/** The measure toolbar (distance, area, finish, clear) and its result, atop `element`. */
function buildToolbar(element, t, { onTool }) {
  const bar = el('div', 'pf-map-tools pf-no-print');
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', `${t('map.measure_distance')} / ${t('map.measure_area')}`);
  const make = (kind, text) => {
    const b = el('button', 'pf-map-tool', text);
    b.type = 'button';
    b.dataset.tool = kind;
    b.setAttribute('aria-pressed', 'false');
    b.addEventListener('click', () => onTool(kind));
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

/**
 * Sketching on `map`. options: element (the toolbar goes atop it when `tools`), canvasHost
 * (focus after a tool), status (the map's status line), t and locale, emit (the `measure`
 * event), closePopup, tools (show the toolbar).
 *
 * Returns {measure(kind), draw(kind), active() → whether a sketch runs, stop(), finish(),
 * cancel() (the drawn part, else the sketch), addPoint(coordinate), removeLastPoint()}.
 */
export function createSketching(map, { element, canvasHost, status, t, locale, emit, closePopup, tools: withTools = false }) {
  const source = new VectorSource();
  map.addLayer(
    new VectorLayer({
      source,
      zIndex: MEASURE_Z,
      style: (f) => {
        const styles = sketchStyles();
        if (f.get('label')) styles.push(labelStyle(f.get('label'), { font: 'bold 13px sans-serif', color: '#0B3D91', placement: 'point' }));
        return styles;
      },
    }),
  );
  let sketch = null;
  const tools = withTools
    ? buildToolbar(element, t, {
        onTool(kind) {
          if (kind === 'finish') return sketch && sketch.draw.finishDrawing();
          if (kind === 'clear') return measure(null);
          measure(sketch && sketch.mode === kind ? null : kind);
          canvasHost.focus();
          return undefined;
        },
      })
    : null;

  function syncTools() {
    if (!tools) return;
    for (const kind of ['distance', 'area']) tools.buttons[kind].setAttribute('aria-pressed', String(Boolean(sketch && sketch.mode === kind)));
    tools.buttons.finish.hidden = !sketch;
  }

  function measureText(mode, geometry) {
    return mode === 'distance' ? formatLength(getLength(geometry, { projection: MERCATOR }), locale) : formatArea(getArea(geometry, { projection: MERCATOR }), locale);
  }

  function resultText(mode, text) {
    return t(mode === 'distance' ? 'map.measure_result_distance' : 'map.measure_result_area', { text });
  }

  function stop(result) {
    if (!sketch) return;
    const current = sketch;
    sketch = null;
    map.removeInteraction(current.draw);
    current.unlisten();
    if (current.resolve) current.resolve(result ?? null);
    syncTools();
  }

  /** A measurement finished: its label on the map, its text, and the `measure` event. */
  function measured(mode, feature) {
    const geometry = feature.getGeometry();
    const m = measureText(mode, geometry);
    feature.set('label', m.text);
    const lonlat = geojson.writeGeometryObject(geometry, { decimals: 8 });
    const text = resultText(mode, m.text);
    status.textContent = text;
    if (tools) {
      tools.result.textContent = text;
      tools.result.dataset.kind = mode;
      tools.result.dataset.value = String(mode === 'distance' ? m.value_m : m.value_m2);
    }
    emit('measure', mode === 'distance' ? { kind: mode, value_m: m.value_m, text: m.text, geometry: lonlat } : { kind: mode, value_m2: m.value_m2, mu: m.mu, text: m.text, geometry: lonlat });
  }

  function start(mode, resolve) {
    stop(null);
    closePopup();
    const type = mode === 'distance' ? 'LineString' : 'Polygon';
    const draw = new Draw({ source: mode === 'draw' ? undefined : source, type, stopClick: true, style: sketchStyles().concat(new Style({ image: new CircleStyle({ radius: 4, fill: new Fill({ color: '#0B5CAD' }) }) })) });
    const keys = [];
    draw.on('drawstart', (event) => {
      if (mode === 'draw') return;
      source.clear();
      const geometry = event.feature.getGeometry();
      keys.push(
        geometry.on('change', () => {
          status.textContent = resultText(mode, measureText(mode, geometry).text);
        }),
      );
    });
    draw.on('drawend', (event) => {
      if (mode === 'draw') stop(geojson.writeGeometryObject(event.feature.getGeometry(), { decimals: 8 }));
      else measured(mode, event.feature);
    });
    map.addInteraction(draw);
    sketch = { mode, draw, resolve, unlisten: () => unByKey(keys) };
    status.textContent = t('map.measure_hint');
    syncTools();
  }

  /** measure('distance' | 'area') starts measuring; measure(null) stops and clears. */
  function measure(kind) {
    if (kind === 'distance' || kind === 'area') return start(kind, null);
    stop(null);
    source.clear();
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
      stop(null);
      return Promise.resolve(null);
    }
    if (kind !== 'Polygon') return Promise.reject(new TypeError(`draw() draws a Polygon, not ${kind}`));
    return new Promise((resolve) => start('draw', resolve));
  }

  return {
    measure,
    draw,
    stop: () => stop(null),
    active: () => Boolean(sketch),
    finish: () => sketch && sketch.draw.finishDrawing(),
    cancel() {
      if (!sketch) return;
      if (sketch.draw.getOverlay().getSource().getFeatures().length) sketch.draw.abortDrawing();
      else stop(null);
    },
    addPoint: (coordinate) => sketch && sketch.draw.appendCoordinates([coordinate]),
    removeLastPoint: () => sketch && sketch.draw.removeLastPoint(),
  };
}
