// Files a widget hands to the user: CSV built in the browser (safe to open in a
// spreadsheet) and downloads of a Blob or text.

/** A byte-order mark, so spreadsheet programs read Chinese text in a CSV as UTF-8. */
export const BOM = '\ufeff';
/** How long a download's object URL lives: the browser may start saving asynchronously. */
const REVOKE_AFTER_MS = 10000;

/** One CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(value) {
  const text = value === null || value === undefined ? '' : String(value);
  // A leading =, +, - or @ would run as a formula in a spreadsheet: keep it text.
  const safe = /^[=+\-@]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Rows (arrays of values) as CSV text: CRLF line ends, one after the last row too. */
export function csvText(rows) {
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Save `blob` as `file` (a download the user sees in the browser). */
export function saveBlob(blob, file) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = file;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
  return file;
}

/** Save `text` of media type `type` as `file`. */
export function saveText(text, type, file) {
  return saveBlob(new Blob([text], { type }), file);
}
