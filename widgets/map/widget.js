// The 一张图 viewer: every layer of the catalogue on the shared map, a layer list with its
// legend grouped by kind (department shown, toggles), identify, distance and area measuring.
// Parameters, commands, events and errors: manifest.json beside this file; texts: messages.js.
import '../common/base.css';
import './widget.css';
import { svg } from '../common/dom.js';
import { lockIcon } from '../common/icons.js';
import { legendModel, parseMapParams } from '../common/map-model.js';
import { $, createWidget, el } from '../common/widget-base.js';
import { errors } from './manifest.json';
import { messages } from './messages.js';
import {
  REMOTE_LIMIT,
  arcgisFeatureQuery,
  arcgisQueryPath,
  mercatorToLonLat,
  parseRemoteEntry,
  pickLayer,
  readWfsCapabilities,
  readWmsCapabilities,
  wfsFeatureQuery,
} from './remote-model.js';

const widget = createWidget({
  name: 'map',
  messages,
  errors,
  state: {
    map: null,
    /** The catalogue entries the widget offers (all, or the layers the host locked). */
    catalogue: [],
  },
});
const { ctx, state, update, t, startMap } = widget;

/** A small SVG picture of a legend swatch (fill, stroke, dash; a shape for points). */
function swatch(spec) {
  let shapes;
  const dash = spec.dash ? spec.dash.map((n) => Math.max(1, n / 2)).join(' ') : null;
  if (spec.point) {
    shapes = [svg('circle', { cx: 14, cy: 8, r: 6, fill: spec.point.fill, stroke: '#fff', 'stroke-dasharray': dash })];
  } else if (!spec.fill) {
    const line = { x1: 1, y1: 8, x2: 27, y2: 8 };
    shapes = [
      ...(spec.casing ? [svg('line', { ...line, stroke: spec.casing.color, 'stroke-width': spec.casing.width })] : []),
      svg('line', { ...line, stroke: spec.stroke || '#555', 'stroke-width': spec.width || 1, 'stroke-dasharray': dash }),
    ];
  } else {
    const stroke = { stroke: spec.stroke || 'none', 'stroke-width': Math.min(spec.width || 1, 2.5), 'stroke-dasharray': dash };
    shapes = [svg('rect', { x: 1, y: 1, width: 26, height: 14, fill: spec.fill, ...stroke })];
  }
  return svg('svg', { width: 28, height: 16, viewBox: '0 0 28 16', 'aria-hidden': 'true', class: 'pf-swatch' }, ...shapes);
}

function renderLayerList(container, layers) {
  container.textContent = '';
  if (!layers.length) {
    container.append(el('p', 'pf-mapview-empty', t('map.no_layers')));
    return;
  }
  for (const group of legendModel(layers, { locale: ctx.locale })) {
    const section = el('section', 'pf-layer-group');
    section.dataset.kind = group.kind;
    section.append(el('h3', '', group.title));
    const list = el('ul', 'pf-layer-items');
    for (const layer of group.layers) {
      const entry = layers.find((l) => l.id === layer.id);
      const li = el('li', 'pf-layer');
      li.dataset.layer = layer.id;
      const id = `pf-layer-${layer.id}`;
      const toggle = el('input');
      toggle.type = 'checkbox';
      toggle.id = id;
      toggle.checked = layer.visible;
      toggle.addEventListener('change', () => {
        // The map keeps the catalogue entry's `visible` in step (createMap setLayerVisible).
        state.map.setLayerVisible(layer.id, toggle.checked);
        ctx.announce(t(toggle.checked ? 'map.layer_shown' : 'map.layer_hidden', { name: layer.name }));
        ctx.emit('layer-toggled', { id: layer.id, visible: toggle.checked });
      });
      const labelEl = el('label', 'pf-layer-name', layer.name);
      labelEl.htmlFor = id;
      const meta = el('span', 'pf-layer-meta');
      if (layer.department) meta.append(el('span', 'pf-layer-dept', t('map.department', { name: layer.department })));
      if (entry && Number.isFinite(entry.feature_count)) meta.append(el('span', '', t('map.features', { n: entry.feature_count })));
      if (layer.restricted) {
        const restricted = el('span', 'pf-layer-restricted');
        restricted.append(lockIcon(), ` ${t('map.restricted')}`);
        meta.append(restricted);
      }
      const fit = el('button', 'pf-layer-fit', t('map.fit_layer'));
      fit.type = 'button';
      fit.setAttribute('aria-label', t('map.fit_layer_label', { name: layer.name }));
      fit.addEventListener('click', () => state.map.fitTo(layer.id));
      const head = el('div', 'pf-layer-head');
      head.append(toggle, labelEl, fit);
      li.append(head, meta);
      list.append(li);
    }
    section.append(list);
    // One legend per kind: the classes every layer of the group is drawn with.
    const legend = el('details', 'pf-legend');
    legend.open = group.items.length <= 8;
    legend.append(el('summary', '', t('map.legend_of', { name: group.title })));
    const items = el('ul', 'pf-legend-items');
    for (const item of group.items) {
      const li = el('li', 'pf-legend-item');
      li.dataset.key = item.key;
      li.append(swatch(item.swatch), el('span', '', item.label));
      items.append(li);
    }
    legend.append(items);
    section.append(legend);
    container.append(section);
  }
}

async function focusDistrict(layers, code) {
  const districtLayer = layers.find((l) => l.kind === 'district');
  if (!districtLayer) return;
  const url = `/ogc/collections/${encodeURIComponent(districtLayer.id)}/items?district=${encodeURIComponent(code)}&limit=1`;
  const res = await ctx.api(url, { raw: true });
  const doc = await res.json();
  if (!doc.features || !doc.features.length) {
    ctx.showStatus(t('map.no_district', { code }), 'warning');
    return;
  }
  state.map.setOverlay('district', doc, { stroke: '#0B5CAD', width: 3, fill: 'rgba(11,92,173,0.04)', label: null });
  state.map.fitTo('district');
}

/** The proxy path of remote service `id` (below it: the remote's own paths). */
const proxied = (id, path = '') => `/api/v1/remote/${encodeURIComponent(id)}${path ? `/${path}` : ''}`;

/** A picture of a department's service: its refusal concerns that overlay only. */
const softFetch = (url) => ctx.api(url, { raw: true, soft: true });

async function remoteText(id, query) {
  const res = await ctx.api(proxied(id), { query, raw: true, soft: true });
  return res.text();
}

/** Draw remote service `id` (its catalogue entry says which kind); the features drawn, or
 *  null for pictures. */
async function drawRemote({ id, layer }) {
  const entry = await ctx.api(`/api/v1/catalogue/${encodeURIComponent(id)}`, { soft: true });
  const kind = entry.remote && entry.remote.kind;
  const name = `remote:${id}`;
  if (kind === 'ogc_features') {
    if (layer) throw new Error(t('map.remote_no_layer', { id }));
    return state.map.setOverlay(name, await ctx.api(proxied(id, 'items'), { query: { limit: REMOTE_LIMIT }, soft: true }), 'default');
  }
  if (kind === 'wfs') {
    const caps = readWfsCapabilities(await remoteText(id, { service: 'WFS', request: 'GetCapabilities', acceptVersions: '2.0.0' }));
    if (!caps.jsonFormat) throw new Error(t('map.remote_no_json', { id }));
    const type = pickLayer(caps.featureTypes, layer, 'feature type');
    const doc = await ctx.api(proxied(id), { query: wfsFeatureQuery(type.name, caps.jsonFormat), soft: true });
    return state.map.setOverlay(name, mercatorToLonLat(doc), 'default');
  }
  if (kind === 'arcgis_feature') {
    const info = await ctx.api(proxied(id), { query: { f: 'json' }, soft: true });
    const doc = await ctx.api(proxied(id, arcgisQueryPath(info, layer)), { query: arcgisFeatureQuery(), soft: true });
    return state.map.setOverlay(name, doc, 'default');
  }
  if (kind === 'wms') {
    const caps = readWmsCapabilities(await remoteText(id, { service: 'WMS', request: 'GetCapabilities' }));
    const named = pickLayer(caps.layers, layer, 'layer');
    state.map.setImageOverlay(name, { type: 'wms', url: proxied(id), fetch: softFetch, params: { LAYERS: named.name, FORMAT: 'image/png', TRANSPARENT: true, VERSION: '1.3.0' } });
    return null;
  }
  if (kind === 'arcgis_map') {
    state.map.setImageOverlay(name, { type: 'arcgis', url: proxied(id, 'export'), fetch: softFetch, params: { FORMAT: 'png32', TRANSPARENT: true, ...(layer ? { LAYERS: `show:${layer}` } : {}) } });
    return null;
  }
  throw new Error(t('map.remote_not_drawable', { id, kind: kind || '—' }));
}

/**
 * Draw departments' registered services (param `remote`: catalogue ids, `id/layer` for one
 * layer of a service) as overlays `remote:<id>`, read through PlanFuse's proxy with this
 * session (the host app must be granted each): OGC API – Features, WFS and ArcGIS
 * FeatureServer as features, WMS and ArcGIS MapServer as pictures of the view. One that
 * fails is said on the page and reported; the others still draw.
 */
async function addRemoteLayers(values) {
  for (const value of values) {
    const wanted = parseRemoteEntry(value);
    const id = wanted ? wanted.id : String(value);
    try {
      if (!wanted) throw new Error(t('command.unknown_layer', { id }));
      const n = await drawRemote(wanted);
      ctx.announce(n === null ? t('map.remote_image_added', { id }) : t('map.remote_added', { id, n }));
    } catch (error) {
      const text = t('map.remote_failed', { id, message: error.message });
      ctx.showStatus(text, 'warning');
      ctx.emit('error', { code: 'remote_layer_unavailable', message: text, param: 'remote', status: error.status || 0 });
    }
  }
}

function requireLayer(id) {
  if (!state.catalogue.some((l) => l.id === id)) throw Object.assign(new Error(t('command.unknown_layer', { id })), { code: 'unknown_layer' });
}

widget.start({
  async init() {
    let settings = null;
    const { map } = await startMap($('pf-map'), {
      tools: true,
      layers(catalogue) {
        settings = parseMapParams(ctx.params, catalogue);
        return { layers: settings.layers, basemap: settings.basemap, center: settings.center, zoom: settings.zoom };
      },
    });
    update({ map, catalogue: settings.layers });
    if (settings.problems.length) ctx.showStatus(settings.problems.map((p) => t('map.param_problem', p)).join(' '), 'warning');
    for (const problem of settings.problems) ctx.emit('error', { code: 'invalid_param', message: problem.message, param: problem.param });
    if (ctx.params.legend === false) $('pf-layer-panel').hidden = true;
    renderLayerList($('pf-layer-list'), state.catalogue);
    map.on('identify', (result) => {
      ctx.announce(result.features.length ? t('map.identified', { n: result.features.length }) : t('map.identified_none'));
      ctx.emit('feature-selected', result);
    });
    map.on('measure', (m) => ctx.emit('measured', m));
    // The base reports a layer that fails to the host; the viewer also says so on the page.
    map.on('error', (e) => ctx.showStatus(e.message, 'error'));
    // Closed legends would not print; open them for the printout.
    window.addEventListener('beforeprint', () => {
      for (const details of document.querySelectorAll('.pf-legend')) details.open = true;
    });
    if (settings.district) await focusDistrict(state.catalogue, settings.district);
    if (Array.isArray(ctx.params.remote) && ctx.params.remote.length) await addRemoteLayers(ctx.params.remote);
  },
  commands: {
    'show-layer'({ id, visible = true } = {}) {
      requireLayer(id);
      state.map.setLayerVisible(id, Boolean(visible));
      const box = document.getElementById(`pf-layer-${id}`);
      if (box) box.checked = Boolean(visible);
      return { id, visible: Boolean(visible) };
    },
    fit({ target } = {}) {
      return { fitted: state.map.fitTo(target) };
    },
    overlay({ name, geojson, style = 'default', fit = true } = {}) {
      if (typeof name !== 'string' || !name) throw Object.assign(new Error(t('command.overlay_name')), { code: 'invalid_geojson' });
      if (geojson === null) {
        state.map.clearOverlay(name);
        return { features: 0 };
      }
      let features;
      try {
        features = state.map.setOverlay(name, geojson, style);
      } catch (error) {
        throw Object.assign(new Error(error.message), { code: 'invalid_geojson' });
      }
      if (fit) state.map.fitTo(name);
      return { features };
    },
    highlight({ overlay, id, zoom = true } = {}) {
      return { found: state.map.highlight(id === null ? null : overlay, id, { zoom }) };
    },
    measure({ kind = null } = {}) {
      state.map.measure(kind === 'distance' || kind === 'area' ? kind : null);
      return { kind: kind === 'distance' || kind === 'area' ? kind : null };
    },
  },
});
