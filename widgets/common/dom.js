// Building the DOM of the widgets and the admin console: small element helpers, so markup
// that reads the same (tables with a caption and column headers, term lists, SVG pictures)
// is built the same way. Text only ever goes in through textContent, never as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The element with this id (null when there is none). */
export const $ = (id) => document.getElementById(id);

/** An element with an optional class and text (null/undefined text: none). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

/**
 * An SVG element with attributes (values as text; null/undefined ones left out) and
 * children (nodes, or text).
 */
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/**
 * A data table: a caption (none when null), a header row of column headers (`scope=col`)
 * and the given body rows (<tr> elements). A header is its text, or [text, className].
 */
export function table(caption, headers, rows, className) {
  const node = el('table', className);
  if (caption !== null && caption !== undefined) node.append(el('caption', '', caption));
  const thead = el('thead');
  const tr = el('tr');
  for (const header of headers) {
    const [text, headerClass] = Array.isArray(header) ? header : [header, ''];
    const th = el('th', headerClass, text);
    th.scope = 'col';
    tr.append(th);
  }
  thead.append(tr);
  const tbody = el('tbody');
  rows.forEach((row) => tbody.append(row));
  node.append(thead, tbody);
  return node;
}

/**
 * Terms and their descriptions appended to `list` (a <dl>) as <dt>/<dd> pairs; a pair with
 * an empty value (null, undefined, '') is left out. A value may be text or a Node.
 */
export function describe(list, pairs) {
  for (const [term, value] of pairs) {
    if (value === null || value === undefined || value === '') continue;
    list.append(el('dt', '', term));
    const dd = el('dd');
    if (value instanceof Node) dd.append(value);
    else dd.textContent = value;
    list.append(dd);
  }
  return list;
}

/** Clear every `aria-invalid` mark under `root` (before marking a new problem's fields). */
export function clearInvalid(root = document) {
  if (!root) return;
  for (const node of root.querySelectorAll('[aria-invalid="true"]')) node.removeAttribute('aria-invalid');
}
