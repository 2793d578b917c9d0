// The admin console's chain editor (服务串联): the published chains and their versions, and
// an editor — the chain document as JSON, validation listing each problem with its step and
// field, a test run as a host app showing every step's trace, and publishing a new version.
// Built with DOM APIs only (text, never HTML).
import './chains.css';
import { $, el, problemText, readConfig, timeText } from './dom.js';

const config = readConfig('admin-config');
const base64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
const both = (text) => (text ? `${text['zh-CN']} · ${text.en}` : '');
const json = (value) => JSON.stringify(value, null, 2);

async function send(url, { method = 'GET', body, headers = {}, credentials = 'same-origin' } = {}) {
  const options = { method, credentials, headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch {
    return { status: 0, body: null };
  }
  return { status: response.status, body: await response.json().catch(() => null) };
}

const consolePost = (url, body) =>
  send(url, { method: 'POST', body, headers: { 'X-CSRF-Token': config.csrf_token } });

function table(className, headers, rows) {
  const node = el('table', className);
  const head = el('tr');
  head.append(...headers.map((h) => Object.assign(el('th', null, h), { scope: 'col' })));
  node.createTHead().append(head);
  const body = node.createTBody();
  for (const cells of rows) {
    const row = el('tr');
    for (const cell of cells) {
      const td = el('td');
      if (cell instanceof Node) td.append(cell);
      else td.textContent = String(cell);
      row.append(td);
    }
    body.append(row);
  }
  return node;
}

function pre(text) {
  const node = el('pre', null, text);
  node.tabIndex = 0; // long answers scroll: a keyboard reaches them
  return node;
}

// --- the editor's document ----------------------------------------------------------------

/** The textarea's document, or null with the reason shown. */
function readDocument() {
  try {
    const value = JSON.parse($('document').value);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch (error) {
    showProblems([{ field: '(document)', message: `不是合法的 JSON 对象 · Not a JSON object: ${error.message}` }], '文档无法解析 · The document cannot be read');
    return null;
  }
}

function loadDocument(document) {
  $('document').value = json(document);
  if (document.example) $('test-inputs').value = json(document.example);
  $('problems').replaceChildren();
  $('trace').replaceChildren();
  $('publish-status').textContent = '';
}

function showProblems(errors, headline) {
  const rows = errors.map((e) => [e.step || '—', e.field || '—', e.message || '']);
  $('problems').replaceChildren(
    el('p', 'pf-problem-head', headline),
    table('pf-problems', ['步骤 · Step', '字段 · Field', '问题 · Problem'], rows),
  );
}

function showAnswerProblem(answer) {
  const problem = answer.body || {};
  const errors = problem.errors && problem.errors.length ? problem.errors : [{ message: problemText(answer.status, problem) }];
  showProblems(errors, problemText(answer.status, problem));
}

async function validate() {
  const document = readDocument();
  if (!document) return false;
  const answer = await consolePost(config.validate_url, document);
  if (answer.status !== 200) {
    showAnswerProblem(answer);
    return false;
  }
  const ok = el('p', 'pf-ok', `✓ 校验通过 · Valid: ${answer.body.steps.length} 个步骤 · steps (${answer.body.steps.map((s) => `${s.id} → ${s.service}`).join(', ')})；输出 · outputs: ${answer.body.outputs.join(', ')}`);
  $('problems').replaceChildren(ok);
  return true;
}

// --- test run -----------------------------------------------------------------------------

function traceEntry(entry) {
  const title = entry.skipped
    ? `${entry.step} (${entry.service})：跳过 · skipped (when)`
    : `${entry.step}${entry.item === null || entry.item === undefined ? '' : ` [${entry.item}]`} (${entry.service})：HTTP ${entry.status} · ${entry.ms} ms${entry.error ? ` · ${entry.error}` : ''}`;
  const box = el('details');
  box.append(el('summary', null, title));
  if (!entry.skipped) box.append(el('p', null, '输入 · Input'), pre(json(entry.input)), el('p', null, '输出 · Output'), pre(json(entry.output).slice(0, 20000)));
  return box;
}

async function testRun(event) {
  event.preventDefault();
  const document = readDocument();
  if (!document) return;
  let inputs;
  try {
    inputs = JSON.parse($('test-inputs').value || '{}');
  } catch (error) {
    $('trace').replaceChildren(el('p', 'pf-problem-head', `输入不是合法的 JSON · The inputs are not valid JSON: ${error.message}`));
    return;
  }
  const headers = {};
  const app = $('test-app').value.trim();
  if (!app) {
    $('trace').replaceChildren(el('p', 'pf-problem-head', '请填写应用 ID 和密钥 · Type an app id and secret.'));
    $('test-app').focus();
    return;
  }
  headers.Authorization = `Basic ${base64(`${app}:${$('test-secret').value}`)}`;
  $('trace').replaceChildren(el('p', null, '运行中… · Running…'));
  const answer = await send(config.test_run_url, { method: 'POST', body: { document, inputs }, headers, credentials: 'omit' });
  if (answer.status !== 200) {
    $('trace').replaceChildren();
    showAnswerProblem(answer);
    return;
  }
  const run = answer.body;
  const head = run.ok
    ? el('p', 'pf-ok', `✓ 运行成功 · Succeeded in ${run.duration_ms} ms`)
    : el('p', 'pf-problem-head', `✗ 步骤 ${run.failure.step} (${run.failure.service}) 失败 · Step failed: ${run.failure.message}`);
  const parts = [head];
  if (run.ok) parts.push(el('p', null, '输出 · Outputs'), pre(json(run.outputs).slice(0, 20000)));
  parts.push(el('p', null, `逐步记录 · Trace (${run.trace.length})`), ...run.trace.map(traceEntry));
  const box = el('div', 'pf-trace');
  box.append(...parts);
  $('trace').replaceChildren(box);
}

// --- publish and the published chains -----------------------------------------------------

async function publish() {
  const document = readDocument();
  if (!document) return;
  const answer = await consolePost(config.publish_url, document);
  if (answer.status !== 200 && answer.status !== 201) {
    showAnswerProblem(answer);
    $('publish-status').textContent = problemText(answer.status, answer.body);
    return;
  }
  const entry = answer.body;
  $('problems').replaceChildren();
  $('publish-status').textContent = entry.created
    ? `已发布 ${entry.id} 第 ${entry.version} 版 · Published ${entry.id} version ${entry.version}`
    : `内容未变，仍为第 ${entry.version} 版 · Unchanged: still version ${entry.version}`;
  $('document').value = json(entry.document);
  await reloadList();
}

async function showVersions(chainId) {
  const answer = await send(config.chain_url.replace('CHAIN', encodeURIComponent(chainId)));
  if (answer.status !== 200) {
    $('list-status').textContent = problemText(answer.status, answer.body);
    return;
  }
  const chain = answer.body;
  const rows = chain.versions.map((v) => {
    const load = el('button', 'pf-small', `载入 · Load v${v.version}`);
    load.type = 'button';
    load.addEventListener('click', async () => {
      const url = config.version_url.replace('CHAIN', encodeURIComponent(chainId)).replace('VERSION', String(v.version));
      const one = await send(url);
      if (one.status === 200) {
        loadDocument(one.body.document);
        $('editor-h').focus();
      }
    });
    return [`v${v.version}`, timeText(v.published_at), v.published_by, load];
  });
  const box = $('versions');
  box.replaceChildren(
    el('h3', null, `${chain.id} 的版本 · Versions of ${chain.id}`),
    table('pf-chains', ['版本 · Version', '发布时间 · Published (UTC)', '发布人 · By', '操作 · Action'], rows),
  );
  box.hidden = false;
}

function chainRow(chain) {
  // Another department's chain (for a department administrator) is loaded to read or copy.
  const label = chain.manageable ? '编辑 · Edit' : '查看 · View';
  const open = el('button', 'pf-small', label);
  open.type = 'button';
  open.setAttribute('aria-label', `${label} ${chain.id}`);
  open.addEventListener('click', async () => {
    await showVersions(chain.id);
    const url = config.chain_url.replace('CHAIN', encodeURIComponent(chain.id));
    const answer = await send(url);
    if (answer.status === 200) {
      loadDocument(answer.body.document);
      $('editor-h').focus();
    }
  });
  const departments = Object.fromEntries(config.departments.map((d) => [d.id, d.name]));
  return [chain.id, both(chain.name), departments[chain.dept] ? departments[chain.dept]['zh-CN'] : chain.dept, `v${chain.latest_version}`, chain.versions, open];
}

function renderList(listing) {
  const body = $('chains').tBodies[0];
  body.replaceChildren();
  for (const cells of listing.chains.map(chainRow)) {
    const row = el('tr');
    for (const cell of cells) {
      const td = el('td');
      if (cell instanceof Node) td.append(cell);
      else td.textContent = String(cell);
      row.append(td);
    }
    body.append(row);
  }
  $('list-status').textContent = listing.total
    ? `共 ${listing.total} 个已发布的串联 · ${listing.total} published chains`
    : '尚未发布串联 · No chain published yet';
}

async function reloadList() {
  const answer = await send(config.list_url);
  if (answer.status === 200) renderList(answer.body);
  else $('list-status').textContent = problemText(answer.status, answer.body);
}

// --- start --------------------------------------------------------------------------------

$('validate').addEventListener('click', validate);
$('publish').addEventListener('click', publish);
$('test-run').addEventListener('submit', testRun);
$('new-chain').addEventListener('click', () => loadDocument(config.starter));
$('format').addEventListener('click', () => {
  const document = readDocument();
  if (document) $('document').value = json(document);
});
renderList(config.chains);
loadDocument(config.starter);
