// Analysis results on the map: named overlays of GeoJSON (EPSG:4490 lon/lat) above every
// data layer, each with its style and at most one highlighted feature.
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import { createEmpty, extend as extendExtent } from 'ol/extent.js';
import { readGeoJSON } from './projection.js';
import { overlayStyle } from './styles.js';

/** Overlays draw above every data layer, in the order they were added. */
const OVERLAY_Z = 1000;

/**
 * The overlays of `map`: set(name, geojson, style) → features drawn, clear(name),
 * highlight(name, id) → the feature marked (null clears every mark), feature(name, id),
 * extent(name) (null: no such overlay), allExtent(), setVisible(name, visible).
 */
export function createOverlays(map) {
  const overlays = new Map();

  function set(name, data, style) {
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

  function clear(name) {
    const entry = overlays.get(name);
    if (!entry) return false;
    map.removeLayer(entry.layer);
    entry.source.clear();
    overlays.delete(name);
    return true;
  }

  function feature(name, id) {
    const entry = overlays.get(name);
    return (entry && id !== null && id !== undefined && entry.source.getFeatureById(String(id))) || null;
  }

  function highlight(name, id) {
    let found = null;
    for (const entry of overlays.values()) {
      const match = entry.name === name ? feature(name, id) : null;
      entry.highlighted = match ? String(id) : null;
      entry.layer.changed();
      found = found || match;
    }
    return found;
  }

  function extent(name) {
    return overlays.has(name) ? overlays.get(name).source.getExtent() : null;
  }

  function allExtent() {
    const all = createEmpty();
    for (const entry of overlays.values()) extendExtent(all, entry.source.getExtent());
    return all;
  }

  function setVisible(name, visible) {
    const entry = overlays.get(name);
    if (!entry) return false;
    entry.layer.setVisible(Boolean(visible));
    return true;
  }

  return { set, clear, feature, highlight, extent, allExtent, setVisible };
}
