// The 一张图 viewer: every layer of the catalogue on the shared map, a layer list with its
// legend grouped by kind (department shown, toggles), identify, distance and area measuring.
// Parameters, commands, events and errors: manifest.json beside this file.
import '../common/base.css';
import './widget.css';
import { el } from '../common/dom.js';
import { createWidgetMap, legendModel, parseMapParams } from '../common/map.js';
import { startWidget } from '../common/runtime.js';

const messages = {
  'zh-CN': {
    'map.no_layers': '图层目录为空：尚未导入任何图层。',
    'map.restricted': '受限',
    'map.department': '发布部门：{name}',
    'map.features': '{n} 个要素',
    'map.show_layer': '显示“{name}”',
    'map.legend_of': '“{name}”图例',
    'map.fit_layer': '缩放至',
    'map.fit_layer_label': '缩放至“{name}”',
    'map.layer_shown': '已显示图层“{name}”',
    'map.layer_hidden': '已隐藏图层“{name}”',
    'map.param_problem': '参数 {param} 有误，已忽略：{message}',
    'map.no_district': '未找到行政区 {code}。',
    'map.identified': '查询到 {n} 个要素',
    'map.identified_none': '此处没有要素',
  },
  en: {
    'map.no_layers': 'The layer catalogue is empty: no layer has been imported yet.',
    'map.restricted': 'restricted',
    'map.department': 'Department: {name}',
    'map.features': '{n} features',
    'map.show_layer': 'Show “{name}”',
    'map.legend_of': 'Legend of “{name}”',
    'map.fit_layer': 'Zoom to',
    'map.fit_layer_label': 'Zoom to “{name}”',
    'map.layer_shown': 'Layer “{name}” shown',
    'map.layer_hidden': 'Layer “{name}” hidden',
    'map.param_problem': 'Parameter {param} is wrong and ignored: {message}',
    'map.no_district': 'District {code} was not found.',
    'map.identified': '{n} features found',
    'map.identified_none': 'No feature here',
  },
};

/** A small SVG picture of a legend swatch (fill, stroke, dash; a shape for points). */
function swatch(spec) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '28');
  svg.setAttribute('height', '16');
  svg.setAttribute('viewBox', '0 0 28 16');
  svg.setAttribute('aria-hidden', 'true');
  svg.classList.add('pf-swatch');
  let shape;
  if (spec.point) {
    shape = document.createElementNS(ns, 'circle');
    shape.setAttribute('cx', '14');
    shape.setAttribute('cy', '8');
    shape.setAttribute('r', '6');
    shape.setAttribute('fill', spec.point.fill);
    shape.setAttribute('stroke', '#fff');
  } else if (!spec.fill) {
    if (spec.casing) {
      const casing = document.createElementNS(ns, 'line');
      for (const [k, v] of Object.entries({ x1: 1, y1: 8, x2: 27, y2: 8, stroke: spec.casing.color, 'stroke-width': spec.casing.width })) casing.setAttribute(k, v);
      svg.append(casing);
    }
    shape = document.createElementNS(ns, 'line');
    for (const [k, v] of Object.entries({ x1: 1, y1: 8, x2: 27, y2: 8 })) shape.setAttribute(k, v);
    shape.setAttribute('stroke', spec.stroke || '#555');
    shape.setAttribute('stroke-width', String(spec.width || 1));
  } else {
    shape = document.createElementNS(ns, 'rect');
    for (const [k, v] of Object.entries({ x: 1, y: 1, width: 26, height: 14 })) shape.setAttribute(k, v);
    shape.setAttribute('fill', spec.fill);
    shape.setAttribute('stroke', spec.stroke || 'none');
    shape.setAttribute('stroke-width', String(Math.min(spec.width || 1, 2.5)));
  }
  if (spec.dash) shape.setAttribute('stroke-dasharray', spec.dash.map((n) => Math.max(1, n / 2)).join(' '));
  svg.append(shape);
  return svg;
}

let map = null;
let catalogue = [];

function renderLayerList(ctx, container, layers) {
  container.textContent = '';
  if (!layers.length) {
    container.append(el('p', 'pf-mapview-empty', ctx.t('map.no_layers')));
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
        map.setLayerVisible(layer.id, toggle.checked);
        entry.visible = toggle.checked;
        ctx.announce(ctx.t(toggle.checked ? 'map.layer_shown' : 'map.layer_hidden', { name: layer.name }));
        ctx.emit('layer-toggled', { id: layer.id, visible: toggle.checked });
      });
      const labelEl = el('label', 'pf-layer-name', layer.name);
      labelEl.htmlFor = id;
      const meta = el('span', 'pf-layer-meta');
      if (layer.department) meta.append(el('span', 'pf-layer-dept', ctx.t('map.department', { name: layer.department })));
      if (entry && Number.isFinite(entry.feature_count)) meta.append(el('span', '', ctx.t('map.features', { n: entry.feature_count })));
      if (layer.restricted) meta.append(el('span', 'pf-layer-restricted', `🔒 ${ctx.t('map.restricted')}`));
      const fit = el('button', 'pf-layer-fit', ctx.t('map.fit_layer'));
      fit.type = 'button';
      fit.setAttribute('aria-label', ctx.t('map.fit_layer_label', { name: layer.name }));
      fit.addEventListener('click', () => map.fitTo(layer.id));
      const head = el('div', 'pf-layer-head');
      head.append(toggle, labelEl, fit);
      li.append(head, meta);
      list.append(li);
    }
    section.append(list);
    // One legend per kind: the classes every layer of the group is drawn with.
    const legend = el('details', 'pf-legend');
    legend.open = group.items.length <= 8;
    legend.append(el('summary', '', ctx.t('map.legend_of', { name: group.title })));
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

async function focusDistrict(ctx, layers, code) {
  const districtLayer = layers.find((l) => l.kind === 'district');
  if (!districtLayer) return;
  const url = `/ogc/collections/${encodeURIComponent(districtLayer.id)}/items?district=${encodeURIComponent(code)}&limit=1`;
  const res = await ctx.api(url, { raw: true });
  const doc = await res.json();
  if (!doc.features || !doc.features.length) {
    ctx.showStatus(ctx.t('map.no_district', { code }), 'warning');
    return;
  }
  map.setOverlay('district', doc, { stroke: '#0B5CAD', width: 3, fill: 'rgba(11,92,173,0.04)', label: null });
  map.fitTo('district');
}

function requireLayer(id) {
  if (!catalogue.some((l) => l.id === id)) throw Object.assign(new Error(`unknown layer: ${id}`), { code: 'unknown_layer' });
}

startWidget({
  name: 'map',
  messages,
  async init(ctx) {
    const response = await ctx.api('layers');
    const settings = parseMapParams(ctx.params, response.layers || []);
    catalogue = settings.layers;
    if (settings.problems.length) ctx.showStatus(settings.problems.map((p) => ctx.t('map.param_problem', p)).join(' '), 'warning');
    for (const problem of settings.problems) ctx.emit('error', { code: 'invalid_param', message: problem.message, param: problem.param });
    const panel = document.getElementById('pf-layer-panel');
    const mapEl = document.getElementById('pf-map');
    if (ctx.params.legend === false) panel.hidden = true;
    map = createWidgetMap(ctx, mapEl, {
      layers: catalogue,
      basemap: settings.basemap,
      center: settings.center,
      zoom: settings.zoom,
      tools: true,
    });
    renderLayerList(ctx, document.getElementById('pf-layer-list'), catalogue);
    map.on('identify', (result) => {
      ctx.announce(result.features.length ? ctx.t('map.identified', { n: result.features.length }) : ctx.t('map.identified_none'));
      ctx.emit('feature-selected', result);
    });
    map.on('measure', (m) => ctx.emit('measured', m));
    map.on('error', (e) => {
      ctx.showStatus(e.message, 'error');
      ctx.emit('error', { code: 'layer_unavailable', message: e.message, layer: e.layer, status: e.status });
    });
    // Closed legends would not print; open them for the printout.
    window.addEventListener('beforeprint', () => {
      for (const details of document.querySelectorAll('.pf-legend')) details.open = true;
    });
    if (settings.district) await focusDistrict(ctx, catalogue, settings.district);
  },
  commands: {
    'show-layer'({ id, visible = true } = {}) {
      requireLayer(id);
      map.setLayerVisible(id, Boolean(visible));
      const box = document.getElementById(`pf-layer-${id}`);
      if (box) box.checked = Boolean(visible);
      return { id, visible: Boolean(visible) };
    },
    fit({ target } = {}) {
      return { fitted: map.fitTo(target) };
    },
    overlay({ name, geojson, style = 'default', fit = true } = {}) {
      if (typeof name !== 'string' || !name) throw Object.assign(new Error('overlay needs a name'), { code: 'invalid_geojson' });
      if (geojson === null) {
        map.clearOverlay(name);
        return { features: 0 };
      }
      let features;
      try {
        features = map.setOverlay(name, geojson, style);
      } catch (error) {
        throw Object.assign(new Error(error.message), { code: 'invalid_geojson' });
      }
      if (fit) map.fitTo(name);
      return { features };
    },
    highlight({ overlay, id, zoom = true } = {}) {
      return { found: map.highlight(id === null ? null : overlay, id, { zoom }) };
    },
    measure({ kind = null } = {}) {
      map.measure(kind === 'distance' || kind === 'area' ? kind : null);
      return { kind: kind === 'distance' || kind === 'area' ? kind : null };
    },
  },
});
