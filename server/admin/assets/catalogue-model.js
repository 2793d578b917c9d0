// The service catalogue page's pure half: the request an example makes, and the call or
// embed snippet of a service. Tested in catalogue-model.test.js.
import { SNIPPETS } from './embed-code.js';

/** The request path of an endpoint with its `{name}` placeholders filled from `values`. */
export function fillPath(path, values = {}) {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name) =>
    values[name] === undefined || values[name] === '' ? whole : encodeURIComponent(String(values[name])));
}

/**
 * The example request of a service's endpoint: method, URL (path and query) and body.
 * `example` is the catalogue's `{path, query, body}` (each optional); the endpoint's fixed
 * query parameters (`by=city`) always go along.
 */
export function exampleRequest(endpoint, example) {
  const ex = example || {};
  const method = endpoint.method === '*' ? 'GET' : endpoint.method;
  const query = new URLSearchParams({ ...(ex.query || {}), ...(endpoint.query || {}) });
  const text = query.toString();
  const url = fillPath(endpoint.path, ex.path || {}) + (text ? `?${text}` : '');
  const body = method === 'GET' || method === 'DELETE' || ex.body === undefined ? null : ex.body;
  return { method, url, body };
}

const shellQuote = (text) => `'${String(text).replace(/'/g, `'\\''`)}'`;

/** A curl command calling the request with a host app's Basic credentials. */
export function curlSnippet(origin, request) {
  const lines = [`curl -u "$APP_ID:$APP_SECRET" -X ${request.method} \\`];
  if (request.body !== null) {
    lines.push(`  -H 'Content-Type: application/json' \\`);
    lines.push(`  -d ${shellQuote(JSON.stringify(request.body))} \\`);
  }
  lines.push(`  ${shellQuote(origin + request.url)}`);
  return lines.join('\n');
}

/** The snippet the 详情 shows: an embed snippet for a widget, else a curl call. */
export function serviceSnippet(service, origin) {
  if (service.kind === 'application' && service.widget) {
    const values = { widget: service.widget, app: 'YOUR_APP_ID', locale: 'zh-CN', unlocked: {}, theme: {}, locked: {} };
    return { language: 'html', text: SNIPPETS.script[1](values, { server: origin, manifest: { widgets: {} } }) };
  }
  const endpoint = service.endpoints[0];
  return { language: 'shell', text: curlSnippet(origin, exampleRequest(endpoint, service.example)) };
}

/** The parameters of an endpoint's OpenAPI operation as table rows (none when undocumented). */
export function parameterRows(endpoint) {
  const schemas = endpoint.schemas || {};
  const rows = (schemas.parameters || []).map((p) => ({
    name: p.name,
    where: p.in,
    required: Boolean(p.required),
    type: (p.schema && (Array.isArray(p.schema.type) ? p.schema.type.join(' | ') : p.schema.type)) || '',
    description: p.description || (p.schema && p.schema.enum ? p.schema.enum.join(', ') : ''),
  }));
  const input = schemas.input;
  if (input && input.properties) {
    const required = new Set(input.required || []);
    for (const [name, schema] of Object.entries(input.properties)) {
      rows.push({
        name,
        where: 'body',
        required: required.has(name),
        type: (Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type) || '',
        description: schema.description || '',
      });
    }
  }
  return rows;
}

/** Filters as the list endpoint's query string (empty values left out). */
export function filterQuery(filters) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    if (value) query.set(name, value);
  }
  return query.toString();
}

/**
 * The configuration values 详情's form sends: `fields` holds each item's field (a checkbox's
 * boolean, else its text), and only what differs from the item's current value goes. An
 * emptied number or text field means the default (null), sent only when a value is set now;
 * text that is not a number goes as typed, for the server to refuse naming the item.
 */
export function configChanges(items, fields) {
  const values = {};
  for (const item of items) {
    if (!(item.name in fields)) continue;
    const raw = fields[item.name];
    let value = raw;
    if (item.type === 'boolean') value = Boolean(raw);
    else if (String(raw).trim() === '') value = null;
    else if (item.type === 'number' || item.type === 'integer') value = Number.isNaN(Number(raw)) ? String(raw) : Number(raw);
    if (value === null ? item.changed : value !== item.value) values[item.name] = value;
  }
  return values;
}
