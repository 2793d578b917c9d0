// What the map looks at: the view (where it opens) and fitting it to an overlay, a layer, a
// feature or a bbox, with a margin and a zoom limit.
import View from 'ol/View.js';
import { isEmpty } from 'ol/extent.js';
import { fromLonLat } from 'ol/proj.js';
import { DEFAULT_CENTER, DEFAULT_ZOOM, VIEW_MAX_ZOOM } from '../map-model.js';
import { MERCATOR, bboxToExtent } from './projection.js';

/** The margin a fit leaves around what it shows, in CSS pixels. */
export const PAD_PX = 32;

/** A view at `center` ([lon, lat], EPSG:4490) and `zoom`, else over Chongqing. */
export function createView({ center, zoom }) {
  return new View({
    projection: MERCATOR,
    center: fromLonLat(center || DEFAULT_CENTER),
    zoom: Number.isFinite(zoom) ? zoom : DEFAULT_ZOOM,
    maxZoom: VIEW_MAX_ZOOM,
    constrainResolution: false,
  });
}

/**
 * Fitting `view`: fitTo(target, {padding, maxZoom}) where target is an overlay name, a data
 * layer id, [minLon, minLat, maxLon, maxLat], {overlay, id} (one feature) or 'all' (every
 * overlay, else every layer's bbox, `allBbox`); highlight(overlay, id, {zoom}) marks a
 * feature and may fit to it. Both return whether they found what they were given.
 */
export function createFitting(view, { overlays, dataLayers, allBbox }) {
  function fitExtent(extent, { padding = PAD_PX, maxZoom = 18 } = {}) {
    if (!extent || isEmpty(extent)) return false;
    view.fit(extent, { padding: [padding, padding, padding, padding], maxZoom, duration: 0 });
    return true;
  }

  function fitTo(target, opts = {}) {
    if (Array.isArray(target)) return fitExtent(bboxToExtent(target), opts);
    if (target && typeof target === 'object' && target.overlay) {
      const feature = overlays.feature(target.overlay, target.id);
      return feature ? fitExtent(feature.getGeometry().getExtent(), opts) : false;
    }
    if (overlays.extent(target)) return fitExtent(overlays.extent(target), opts);
    if (dataLayers.byId.has(target)) return fitExtent(dataLayers.byId.get(target).extent, opts);
    if (target === 'all' || target === undefined) {
      const extent = overlays.allExtent();
      if (isEmpty(extent) && allBbox) return fitExtent(bboxToExtent(allBbox), opts);
      return fitExtent(extent, opts);
    }
    return false;
  }

  function highlight(name, id, { zoom = false } = {}) {
    const feature = overlays.highlight(name, id);
    if (feature && zoom) fitExtent(feature.getGeometry().getExtent());
    return Boolean(feature);
  }

  return { fitTo, highlight };
}
