// DOM helpers the admin console's page scripts share. Text from the server only ever goes
// in through textContent.

export const $ = (id) => document.getElementById(id);

/** The page's JSON config, from its <script type="application/json" id=…> element. */
export const readConfig = (id) => JSON.parse($(id).textContent);

/** An element with optional text (null/undefined: none) and class. */
export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

/** An ISO 8601 instant as "YYYY-MM-DD HH:MM:SS" (UTC, as the server sends it); '—' for none. */
export const timeText = (iso) => (iso ? iso.slice(0, 19).replace('T', ' ') : '—');

/** A <time> element for `iso`. */
export function timeNode(iso) {
  const node = el('time', timeText(iso));
  if (iso) node.dateTime = iso;
  return node;
}
