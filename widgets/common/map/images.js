// Pictures of another map service drawn over the data layers (a department's WMS or ArcGIS
// MapServer, through PlanFuse's proxy): one image of the view, asked for again after each
// move. Images are fetched with the widget's session (`authFetch` adds its Authorization
// header, which an <img> could not send) and shown from a blob: URL.
import ImageLayer from 'ol/layer/Image.js';
import ImageArcGISRest from 'ol/source/ImageArcGISRest.js';
import ImageWMS from 'ol/source/ImageWMS.js';

/** Pictures draw above the data layers and below the GeoJSON overlays (1000+). */
const IMAGE_Z = 900;

/**
 * The image overlays of `map`: set(name, {type: 'wms'|'arcgis', url, params, fetch?}) adds or
 * replaces one, clear(name), has(name), setVisible(name, visible). A picture that fails
 * calls `onError(name, error)` (its `status` the HTTP status, 0 without an answer).
 */
export function createImageOverlays(map, { authFetch, onError }) {
  const images = new Map();

  function loader(name, load) {
    return (image, src) => {
      const img = image.getImage();
      load(src)
        .then(async (res) => {
          if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
          const type = (res.headers.get('Content-Type') || '').split(';')[0].trim();
          if (!type.startsWith('image/')) throw Object.assign(new Error(`the service answered ${type || 'no type'}, not a picture`), { status: res.status });
          const url = URL.createObjectURL(await res.blob());
          img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
          img.addEventListener('error', () => URL.revokeObjectURL(url), { once: true });
          img.src = url;
        })
        .catch((error) => {
          onError(name, error);
          // The image is marked failed (an empty picture), so the map goes on.
          img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==';
        });
    };
  }

  function source(name, spec) {
    const common = { url: spec.url, params: spec.params || {}, ratio: 1, imageLoadFunction: loader(name, spec.fetch || authFetch) };
    if (spec.type === 'wms') return new ImageWMS(common);
    if (spec.type === 'arcgis') return new ImageArcGISRest(common);
    throw new TypeError(`image overlay type ${spec.type} is not wms or arcgis`);
  }

  function set(name, spec) {
    if (typeof name !== 'string' || !name) throw new TypeError('an image overlay needs a name');
    clear(name);
    const layer = new ImageLayer({ source: source(name, spec), zIndex: IMAGE_Z + images.size, opacity: spec.opacity ?? 0.85 });
    layer.set('pf', { type: 'image', name, identify: false });
    images.set(name, layer);
    map.addLayer(layer);
  }

  function clear(name) {
    const layer = images.get(name);
    if (!layer) return false;
    map.removeLayer(layer);
    images.delete(name);
    return true;
  }

  function setVisible(name, visible) {
    const layer = images.get(name);
    if (!layer) return false;
    layer.setVisible(Boolean(visible));
    return true;
  }

  return { set, clear, has: (name) => images.has(name), setVisible };
}
