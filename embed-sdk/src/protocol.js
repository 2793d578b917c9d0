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
