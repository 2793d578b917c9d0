import { describe, expect, it } from 'vitest';
import { configChanges, curlSnippet, exampleRequest, fillPath, filterQuery, parameterRows, serviceSnippet } from './catalogue-model.js';

const ORIGIN = 'https://planfuse.example.gov.cn';

describe('the catalogue page model', () => {
  it('fills path placeholders and keeps the ones it has no value for', () => {
    expect(fillPath('/api/v1/siting/plans/{id}/run', { id: 7 })).toBe('/api/v1/siting/plans/7/run');
    expect(fillPath('/api/v1/siting/plans/{id}', {})).toBe('/api/v1/siting/plans/{id}');
    expect(fillPath('/api/v1/x/{name}', { name: 'a b' })).toBe('/api/v1/x/a%20b');
  });

  it('builds the example request with the endpoint\'s fixed query', () => {
    const ledger = { method: 'GET', path: '/api/v1/ledgers/city_plan', query: { by: 'city' } };
    expect(exampleRequest(ledger, { query: { by: 'city' } })).toEqual({ method: 'GET', url: '/api/v1/ledgers/city_plan?by=city', body: null });
    const search = { method: 'POST', path: '/api/v1/siting/search/basic', query: {} };
    const body = { scope: { districts: ['500112'] } };
    expect(exampleRequest(search, { body })).toEqual({ method: 'POST', url: '/api/v1/siting/search/basic', body });
    expect(exampleRequest({ method: '*', path: '/ogc', query: {} }, null)).toEqual({ method: 'GET', url: '/ogc', body: null });
  });

  it('writes a curl call with Basic credentials, quoting the body for the shell', () => {
    const text = curlSnippet(ORIGIN, { method: 'POST', url: '/api/v1/x', body: { name: "it's" } });
    expect(text).toBe([
      'curl -u "$APP_ID:$APP_SECRET" -X POST \\',
      "  -H 'Content-Type: application/json' \\",
      `  -d '{"name":"it'\\''s"}' \\`,
      `  '${ORIGIN}/api/v1/x'`,
    ].join('\n'));
  });

  it('gives a widget its embed snippet and a function service its call', () => {
    const widget = serviceSnippet({ kind: 'application', widget: 'map', endpoints: [] }, ORIGIN);
    expect(widget.language).toBe('html');
    expect(widget.text).toContain(`<script src="${ORIGIN}/embed.js" async></script>`);
    expect(widget.text).toContain('data-planfuse-widget="map"');
    const ledger = { kind: 'function', endpoints: [{ method: 'GET', path: '/api/v1/ledgers/urban_plan', query: { by: 'city' } }], example: null };
    expect(serviceSnippet(ledger, ORIGIN)).toEqual({ language: 'shell', text: `curl -u "$APP_ID:$APP_SECRET" -X GET \\\n  '${ORIGIN}/api/v1/ledgers/urban_plan?by=city'` });
  });

  it('lists an operation\'s parameters and body fields', () => {
    const endpoint = {
      schemas: {
        parameters: [{ name: 'by', in: 'query', schema: { type: 'string', enum: ['district', 'city'] } }],
        input: { required: ['scope'], properties: { scope: { description: 'Districts' }, limit: { type: ['integer', 'null'] } } },
      },
    };
    expect(parameterRows(endpoint)).toEqual([
      { name: 'by', where: 'query', required: false, type: 'string', description: 'district, city' },
      { name: 'scope', where: 'body', required: true, type: '', description: 'Districts' },
      { name: 'limit', where: 'body', required: false, type: 'integer | null', description: '' },
    ]);
    expect(parameterRows({ schemas: null })).toEqual([]);
  });

  it('leaves empty filters out of the query', () => {
    expect(filterQuery({ kind: 'function', dept: '', status: 'running', q: '台账' })).toBe('kind=function&status=running&q=%E5%8F%B0%E8%B4%A6');
  });

  it('sends only the configuration items whose field changed', () => {
    const items = [
      { name: 'tolerance_m2', type: 'number', value: 1, default: 1, changed: false },
      { name: 'inside_share', type: 'number', value: 0.5, default: 0.9, changed: true },
      { name: 'strict', type: 'boolean', value: false, default: false, changed: false },
      { name: 'mode', type: 'string', value: 'fast', default: 'fast', changed: false },
    ];
    expect(configChanges(items, { tolerance_m2: '1', inside_share: '0.5', strict: false, mode: 'fast' })).toEqual({});
    expect(configChanges(items, { tolerance_m2: '2.5', strict: true, mode: 'exact' })).toEqual({ tolerance_m2: 2.5, strict: true, mode: 'exact' });
    // Emptied: the default again, sent only for a value set now.
    expect(configChanges(items, { tolerance_m2: ' ', inside_share: '' })).toEqual({ inside_share: null });
    // Not a number: sent as typed, for the server to refuse naming the item.
    expect(configChanges(items, { tolerance_m2: 'abc' })).toEqual({ tolerance_m2: 'abc' });
  });
});
