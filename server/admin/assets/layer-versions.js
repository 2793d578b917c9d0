// The admin console's page of one layer's versions: "make current" on an older version (the
// undo of a wrong import), confirmed in place, then the table shows the new current version.
// Text from the server only ever goes through textContent.
import './layers.css';
import { $, el, problemText, readConfig } from './dom.js';

const config = readConfig('versions-config');
let current = config.current_version;
let pending = null;

function status(text, failed = false) {
  const node = $('versions-status');
  node.textContent = text;
  node.classList.toggle('pf-error', failed);
}

/** Show which row is current: the tag in its header cell, the button on every other row. */
function showCurrent(version) {
  current = version;
  $('current-version').textContent = String(version);
  for (const row of document.querySelectorAll('#versions-table tbody tr')) {
    const mine = Number(row.dataset.version) === version;
    const head = row.querySelector('th');
    const tag = head.querySelector('.pf-tag');
    if (mine && !tag) head.append(' ', el('span', 'pf-tag', '当前 · current'));
    if (!mine && tag) tag.remove();
    const button = row.querySelector('[data-make-current]');
    if (button) button.hidden = mine; // none for a viewer, who may not change
  }
}

function ask(version, button) {
  pending = { version, button };
  $('versions-confirm-text').textContent =
    `把版本 ${version} 设为 ${config.layer} 的当前版本（现为版本 ${current}）？版本 ${current} 仍保留。` +
    ` · Make version ${version} the current version of ${config.layer} (now version ${current})? Version ${current} stays stored.`;
  $('versions-confirm').hidden = false;
  $('versions-confirm-yes').focus();
}

function closeConfirm() {
  const button = pending && pending.button;
  pending = null;
  $('versions-confirm').hidden = true;
  if (button && !button.hidden) button.focus();
}

async function confirmChange() {
  if (!pending) return;
  const { version } = pending;
  const yes = $('versions-confirm-yes');
  yes.disabled = true;
  let response = null;
  let body = null;
  try {
    response = await fetch(config.current_url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': config.csrf_token },
      body: JSON.stringify({ version }),
      credentials: 'same-origin',
    });
    body = await response.json().catch(() => null);
  } catch {
    response = null;
  } finally {
    yes.disabled = false;
  }
  $('versions-confirm').hidden = true;
  pending = null;
  if (!response || !response.ok) {
    status(`未能更改 · Not changed: ${problemText(response ? response.status : 0, body)}`, true);
    return;
  }
  const previous = body.previous_version;
  showCurrent(body.current_version);
  status(
    `版本 ${body.current_version} 现为当前版本（此前为版本 ${previous}）· Version ${body.current_version} is now current (was version ${previous}).`,
  );
  $('versions-status').focus();
}

for (const button of document.querySelectorAll('[data-make-current]')) {
  button.addEventListener('click', () => ask(Number(button.dataset.makeCurrent), button));
}
$('versions-confirm-yes').addEventListener('click', confirmChange);
$('versions-confirm-no').addEventListener('click', closeConfirm);
$('versions-confirm').addEventListener('keydown', (event) => {
  if (event.key === 'Escape') closeConfirm();
});
