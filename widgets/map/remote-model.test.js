// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import {
  arcgisFeatureQuery,
  arcgisQueryPath,
  mercatorToLonLat,
  parseRemoteEntry,
  pickLayer,
  readWfsCapabilities,
  readWmsCapabilities,
  wfsFeatureQuery,
} from './remote-model.js';

const WFS_CAPS = `<?xml version="1.0"?>
<wfs:WFS_Capabilities xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">
  <ows:OperationsMetadata>
    <ows:Operation name="GetCapabilities"><ows:Parameter name="AcceptVersions"><ows:AllowedValues><ows:Value>2.0.0</ows:Value></ows:AllowedValues></ows:Parameter></ows:Operation>
    <ows:Operation name="GetFeature">
      <ows:Parameter name="outputFormat"><ows:AllowedValues>
        <ows:Value>application/gml+xml; version=3.2</ows:Value><ows:Value>application/json</ows:Value>
      </ows:AllowedValues></ows:Parameter>
    </ows:Operation>
  </ows:OperationsMetadata>
  <wfs:FeatureTypeList>
    <wfs:FeatureType><wfs:Name>pf:parcels</wfs:Name><wfs:Title>Parcels</wfs:Title></wfs:FeatureType>
    <wfs:FeatureType><wfs:Name>pf:roads</wfs:Name><wfs:Title>Roads</wfs:Title></wfs:FeatureType>
  </wfs:FeatureTypeList>
</wfs:WFS_Capabilities>`;

const WMS_CAPS = `<?xml version="1.0"?>
<WMS_Capabilities xmlns="http://www.opengis.net/wms" version="1.3.0">
  <Capability><Layer><Title>PlanFuse</Title>
    <Layer queryable="1"><Name>parcels</Name><Title>Parcels</Title></Layer>
    <Layer><Name>districts</Name><Title>Districts</Title></Layer>
  </Layer></Capability>
</WMS_Capabilities>`;

describe('parseRemoteEntry', () => {
  it('reads an id, or an id with the layer after a slash', () => {
    expect(parseRemoteEntry('eco_parcels')).toEqual({ id: 'eco_parcels', layer: null });
    expect(parseRemoteEntry('eco_wfs/pf:roads')).toEqual({ id: 'eco_wfs', layer: 'pf:roads' });
    expect(parseRemoteEntry('eco_arcgis/2')).toEqual({ id: 'eco_arcgis', layer: '2' });
  });
  it('refuses what is not a catalogue id', () => {
    for (const bad of ['', 'Eco', '1abc', 'a', 'eco/', '../x', 42, null, `eco/${'x'.repeat(201)}`]) expect(parseRemoteEntry(bad)).toBeNull();
  });
});

describe('capabilities', () => {
  it('reads a WFS 2.0 document: feature types and its JSON output format', () => {
    expect(readWfsCapabilities(WFS_CAPS)).toEqual({
      featureTypes: [
        { name: 'pf:parcels', title: 'Parcels' },
        { name: 'pf:roads', title: 'Roads' },
      ],
      jsonFormat: 'application/json',
    });
  });
  it('says when a WFS offers no JSON', () => {
    const gmlOnly = WFS_CAPS.replace('<ows:Value>application/json</ows:Value>', '');
    expect(readWfsCapabilities(gmlOnly).jsonFormat).toBeNull();
  });
  it('reads the named WMS layers and skips the unnamed root', () => {
    expect(readWmsCapabilities(WMS_CAPS).layers.map((l) => l.name)).toEqual(['parcels', 'districts']);
  });
  it('refuses XML that cannot be read', () => {
    expect(() => readWmsCapabilities('<WMS_Capabilities><Layer>')).toThrow(/cannot be read/);
  });
});

describe('pickLayer', () => {
  const items = [{ name: 'parcels' }, { name: 'districts' }];
  it('takes the wanted one, else the first, and names the choices when it is missing', () => {
    expect(pickLayer(items, null, 'layer')).toBe(items[0]);
    expect(pickLayer(items, 'districts', 'layer')).toBe(items[1]);
    expect(() => pickLayer(items, 'roads', 'layer')).toThrow('no layer roads; it has parcels, districts');
    expect(() => pickLayer([], null, 'feature type')).toThrow('lists no feature type');
  });
});

describe('queries', () => {
  it('asks a WFS for GeoJSON in Web Mercator and an ArcGIS layer for GeoJSON in 4326', () => {
    expect(wfsFeatureQuery('pf:parcels', 'application/json', 10)).toEqual({
      service: 'WFS', version: '2.0.0', request: 'GetFeature', typeNames: 'pf:parcels',
      outputFormat: 'application/json', count: 10, srsName: 'EPSG:3857',
    });
    expect(arcgisFeatureQuery(5)).toMatchObject({ where: '1=1', f: 'geojson', outSR: '4326', resultRecordCount: 5 });
  });
  it('queries an ArcGIS layer URL directly and a service URL through its layer', () => {
    expect(arcgisQueryPath({ id: 0, name: 'parcels', type: 'Feature Layer' }, null)).toBe('query');
    expect(arcgisQueryPath({ layers: [{ id: 0 }, { id: 3 }] }, null)).toBe('0/query');
    expect(arcgisQueryPath({ layers: [{ id: 0 }, { id: 3 }] }, '3')).toBe('3/query');
    expect(() => arcgisQueryPath({ layers: [{ id: 0 }] }, '9')).toThrow('no layer 9; it has 0');
    expect(() => arcgisQueryPath({ id: 0 }, '1')).toThrow(/one layer/);
  });
});

describe('mercatorToLonLat', () => {
  it('turns Web Mercator metres into longitude and latitude, every geometry type', () => {
    // Chongqing's 解放碑 at 106.5775° E, 29.5586° N in EPSG:3857.
    const x = 11864153.03;
    const y = 3446937.24;
    const doc = mercatorToLonLat({
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', geometry: { type: 'Point', coordinates: [x, y] }, properties: { a: 1 } },
        { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0, 0], [x, 0], [x, y], [0, 0]]] }, properties: {} },
        { type: 'Feature', geometry: null, properties: {} },
      ],
    });
    const [lon, lat] = doc.features[0].geometry.coordinates;
    expect(lon).toBeCloseTo(106.5775, 4);
    expect(lat).toBeCloseTo(29.5586, 4);
    expect(doc.features[0].properties).toEqual({ a: 1 });
    expect(doc.features[1].geometry.coordinates[0][0]).toEqual([0, 0]);
    expect(doc.features[1].geometry.coordinates[0][2][1]).toBeCloseTo(29.5586, 4);
    expect(doc.features[2].geometry).toBeNull();
  });
});
