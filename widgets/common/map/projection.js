// Coordinates between PlanFuse and OpenLayers: PlanFuse speaks EPSG:4490 lon/lat (GeoJSON,
// bboxes), the map draws in Web Mercator.
import GeoJSON from 'ol/format/GeoJSON.js';
import { transformExtent } from 'ol/proj.js';

// CGCS2000 (EPSG:4490) and WGS 84 differ by centimetres, below any screen pixel: the map
// reads EPSG:4490 lon/lat as OpenLayers' EPSG:4326, as the tile server does.
export const LONLAT = 'EPSG:4326';
export const MERCATOR = 'EPSG:3857';

/** GeoJSON (EPSG:4490 lon/lat) ↔ OpenLayers features (Web Mercator). */
export const geojson = new GeoJSON({ dataProjection: LONLAT, featureProjection: MERCATOR });

/** GeoJSON in, OL features out; ids from `id`, else `properties.id`, else the position. */
export function readGeoJSON(data) {
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

/** [minLon, minLat, maxLon, maxLat] → a map extent. */
export function bboxToExtent(bbox) {
  return transformExtent(bbox, LONLAT, MERCATOR);
}
