// DOM helpers the admin console's page scripts share: `$`, `el` and `svg` are the widgets'
// own (one signature everywhere: el(tag, className, text)). Text from the server only ever
// goes in through textContent.
import { $, el } from '../../../widgets/common/dom.js';

export { $, el, svg } from '../../../widgets/common/dom.js';

/** The page's JSON config, from its <script type="application/json" id=…> element. */
export const readConfig = (id) => JSON.parse($(id).textContent);

/** An ISO 8601 instant as "YYYY-MM-DD HH:MM:SS" (UTC, as the server sends it); '—' for none. */
export const timeText = (iso) => (iso ? iso.slice(0, 19).replace('T', ' ') : '—');

/** A <time> element for `iso`. */
export function timeNode(iso) {
  const node = el('time', null, timeText(iso));
  if (iso) node.dateTime = iso;
  return node;
}

/**
 * A problem the server answered with (or none: status 0, no answer), in words for the
 * console: its detail, and what to do when the sign-in or the CSRF check was refused.
 */
export function problemText(status, problem) {
  if (status === 0) return '网络错误，未能连接服务器 · Network error: the server could not be reached.';
  let text = (problem && problem.detail) || `HTTP ${status}`;
  if (status === 403 && /csrf/.test((problem && problem.type) || '')) text += ' — 请刷新页面 · reload the page.';
  if (status === 401) text += ' — 请重新登录 · sign in again.';
  return text;
}
