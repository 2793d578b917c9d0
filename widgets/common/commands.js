// Checking a host command's payload: a widget's command throws these, and the runtime
// answers the host with the error's `code` (protocol error `invalid_payload`).

/** An Error for a command payload the widget cannot act on. */
export function invalidPayload(message) {
  return Object.assign(new Error(message), { code: 'invalid_payload' });
}

/** `value` as a whole number ≥ 1 (an id a host sends, as number or text); else
 *  `invalidPayload` with `message` (the widget base passes it in the user's language). */
export function positiveInteger(value, name = 'id', message = `${name} must be a positive integer`) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw invalidPayload(message);
  return n;
}
