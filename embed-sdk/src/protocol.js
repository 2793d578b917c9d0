// The protocol's constants come from the server's manifest (server/embed/protocol.json), so
// the SDK, the widget runtime, the server and PROTOCOL.md cannot drift apart.
import { protocol_version, version_key } from '../../server/embed/protocol.json';

export const VERSION = protocol_version;
export const KEY = version_key;

/** A protocol message: `{planfuse: VERSION, type, ...fields}`. */
export function message(type, fields) {
  return { ...fields, [KEY]: VERSION, type };
}

/** True when `data` is a message of our protocol version (anything else is ignored). */
export function isMessage(data, type) {
  return (
    data !== null &&
    typeof data === 'object' &&
    data[KEY] === VERSION &&
    (type === undefined || data.type === type)
  );
}

/** The `iss` claim of a JWT, read without verifying it (only to build the iframe URL). */
export function tokenIssuer(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part)).iss || null;
  } catch {
    return null;
  }
}

/** What a widget's iframe is allowed: scripts, its own origin (its API calls and the
 * session), forms, popups (print), downloads (export) and modals (confirm). */
export const FRAME_SANDBOX = 'allow-scripts allow-same-origin allow-forms allow-popups allow-downloads allow-modals';

/**
 * The `sandbox` attribute for a widget served from `serverOrigin` on a page at `pageOrigin`,
 * or null for none.
 *
 * On a host's page (another origin) the sandbox holds: the widget cannot navigate the page,
 * and the origin boundary keeps it out of the host's DOM. When the page has the server's own
 * origin (the admin console's preview), a frame with both `allow-scripts` and
 * `allow-same-origin` could lift its own sandbox — browsers warn that it is no sandbox — and
 * without `allow-same-origin` the widget cannot call its API. There the frame gets no sandbox
 * attribute rather than one that only looks like protection: what guards that page is the
 * widget pages' own CSP (no inline script) and autoescaped templates.
 */
export function frameSandbox(serverOrigin, pageOrigin) {
  return serverOrigin === pageOrigin ? null : FRAME_SANDBOX;
}
