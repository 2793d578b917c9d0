// Identify: a click (or Enter at the centre) lists the features under the pointer in a
// popup — the analysis result first, then the data layers' features with their attributes
// in words — marks the first one, and tells the widget (`select` for an overlay feature,
// `identify` for everything found).
import Overlay from 'ol/Overlay.js';
import VectorLayer from 'ol/layer/Vector.js';
import { toLonLat } from 'ol/proj.js';
import VectorSource from 'ol/source/Vector.js';
import { el } from '../dom.js';
import { describeAttributes, kindTitle } from '../map-model.js';
import { readGeoJSON } from './projection.js';
import { highlightStyles } from './styles.js';

/** How far from a feature a click still hits it, in CSS pixels. */
const HIT_TOLERANCE_PX = 4;
/** Most features one identify lists (the top ones under the pointer). */
const MAX_IDENTIFY = 5;
/** The identified feature's outline draws above the overlays. */
const IDENTIFY_Z = 5000;

function withoutGeometry(props) {
  const copy = { ...props };
  delete copy.geometry;
  delete copy.layer;
  return copy;
}

/**
 * Identify on `map`. options: canvasHost (where focus returns), t and locale, districtNames
 * (adcode → name, for attribute values), baseUrl and authFetch (the full feature from the
 * OGC API; restricted layers through the session), highlight(overlay, id) (marks the
 * overlay feature hit), emit(event, payload), popups (false: events only, no popup).
 *
 * Returns {at(pixel, {byKey}), close({restoreFocus}) → whether a popup was open}.
 */
export function createIdentify(map, { canvasHost, t, locale, districtNames, baseUrl, authFetch, highlight, emit, popups = true }) {
  const popup = el('div', 'pf-map-popup');
  popup.setAttribute('role', 'dialog');
  popup.setAttribute('aria-label', t('map.popup'));
  popup.hidden = true;
  const popupOverlay = new Overlay({ element: popup, positioning: 'bottom-center', offset: [0, -12], autoPan: { animation: { duration: 0 }, margin: 16 }, stopEvent: true });
  map.addOverlay(popupOverlay);
  const source = new VectorSource();
  map.addLayer(new VectorLayer({ source, zIndex: IDENTIFY_Z, style: (f) => highlightStyles(f.getGeometry().getType()) }));

  function close({ restoreFocus = false } = {}) {
    if (popup.hidden) return false;
    popup.hidden = true;
    popupOverlay.setPosition(undefined);
    source.clear();
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

  /** One hit's section; the full attributes (and outline, for the first) come from the server. */
  function hitSection(hit, first) {
    const section = el('section', 'pf-map-hit');
    section.dataset.layer = hit.layer;
    section.dataset.fid = hit.fid ?? '';
    const heading = el('h3', '', hit.layerName);
    const meta = el('p', 'pf-map-hit-meta', hit.kind ? kindTitle(hit.kind, locale) : t('map.overlay'));
    if (hit.department) meta.textContent += ` · ${t('map.department')}：${hit.department}`;
    section.append(heading, meta, attributeTable(hit.kind, hit.properties));
    if (hit.entry && hit.fid !== null && hit.fid !== undefined) {
      const pending = el('p', 'pf-map-popup-pending', t('map.more_attributes'));
      section.append(pending);
      fetchFeature(hit.entry, hit.fid)
        .then((feature) => {
          const props = { ...(feature.properties || {}), fid: hit.fid };
          section.querySelector('table').replaceWith(attributeTable(hit.kind, props));
          if (feature.geometry && first) source.addFeatures(readGeoJSON(feature));
        })
        .catch(() => {})
        .finally(() => pending.remove());
    }
    return section;
  }

  function show(coordinate, hits, byKey) {
    popup.textContent = '';
    const closeButton = el('button', 'pf-map-popup-close', '×');
    closeButton.type = 'button';
    closeButton.setAttribute('aria-label', t('map.close'));
    closeButton.addEventListener('click', () => close({ restoreFocus: true }));
    popup.append(closeButton);
    if (!hits.length) popup.append(el('p', 'pf-map-popup-empty', t('map.nothing_here')));
    hits.forEach((hit, i) => popup.append(hitSection(hit, i === 0)));
    popup.hidden = false;
    popupOverlay.setPosition(coordinate);
    if (byKey) closeButton.focus();
  }

  /** What lies under `pixel`: the first overlay feature and up to MAX_IDENTIFY data features. */
  function featuresAt(pixel) {
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
    return { hits, selected };
  }

  function at(pixel, { byKey = false } = {}) {
    const coordinate = map.getCoordinateFromPixel(pixel);
    const { hits, selected } = featuresAt(pixel);
    if (selected) {
      highlight(selected.overlay, selected.id);
      emit('select', selected);
    }
    source.clear();
    if (popups) {
      // An analysis result under the pointer is listed first, with its own properties.
      const overlayHit = selected && { layer: `overlay:${selected.overlay}`, layerName: String(selected.properties.name ?? t('map.overlay')), kind: null, department: '', fid: selected.id, properties: selected.properties };
      show(coordinate, overlayHit ? [overlayHit, ...hits] : hits, byKey);
    }
    const [lon, lat] = toLonLat(coordinate);
    emit('identify', {
      coordinate: [lon, lat],
      features: hits.map((h) => ({ layer: h.layer, layer_name: h.layerName, kind: h.kind, fid: h.fid, properties: h.properties })),
      overlay: selected,
    });
  }

  return { at, close };
}
