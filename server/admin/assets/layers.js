// The admin console's layer page: the layer table, and an upload form that imports a file
// as a new layer version (XMLHttpRequest, for upload progress) and shows the summary or
// every bad feature. Text from the server only ever goes through textContent.
import './layers.css';
import { $, el, problemText, readConfig, timeNode } from './dom.js';

const config = readConfig('layers-config');
const kinds = Object.fromEntries(config.kinds.map((k) => [k.name, k]));
let layers = config.layers;
let crsTouched = false;

const number = (n, digits = 0) => Number(n).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function kindLabel(name) {
  const k = kinds[name];
  return k ? `${k.title_zh} · ${k.title_en}` : name;
}

/** A layer's total area in hectares (公顷, how planners compare layers); exact m² on hover. */
function areaCell(layer) {
  const k = kinds[layer.kind];
  if (!k || k.geometry !== 'polygon') return el('td', 'pf-num', '—');
  const cell = el('td', 'pf-num', `${number(layer.total_area_m2 / 10000, 2)} ha`);
  cell.title = `${number(layer.total_area_m2, 2)} m²`;
  return cell;
}

const bboxText = (bbox) => (bbox ? bbox.map((v) => v.toFixed(5)).join(', ') : '—');

// --- the layer table -----------------------------------------------------------------------

function layerRow(layer, highlight) {
  const tr = el('tr');
  tr.dataset.layer = layer.id;
  const idCell = el('th');
  idCell.scope = 'row';
  const link = el('a', null, layer.id);
  link.href = config.versions_url.replace('LAYER_ID', encodeURIComponent(layer.id));
  link.title = '查看全部版本 · All versions';
  idCell.appendChild(link);
  if (highlight) idCell.append(' ', el('span', 'pf-tag', '刚导入 · new'));
  tr.appendChild(idCell);
  const versions = el('td');
  const vlink = el('a', null, `v${layer.version}`);
  vlink.href = link.href;
  // The name starts with the visible text (what a voice-control user says), then the context.
  vlink.setAttribute('aria-label', `v${layer.version}：${layer.id} 第 ${layer.version} 版，查看全部版本 · version ${layer.version} of ${layer.id}, all versions`);
  versions.appendChild(vlink);
  const updated = el('td');
  updated.appendChild(timeNode(layer.updated));
  tr.append(
    el('td', null, layer.name),
    el('td', null, `${kindLabel(layer.kind)} (${layer.kind})`),
    el('td', null, layer.department || '—'),
    el('td', null, layer.crs),
    versions,
    el('td', 'pf-num', number(layer.feature_count)),
    areaCell(layer),
    el('td', 'pf-bbox', bboxText(layer.bbox)),
    updated,
    el('td', null, layer.restricted ? '是 · yes' : '否 · no'),
  );
  return tr;
}

function renderLayers(highlightId) {
  const body = $('layers-body');
  body.replaceChildren(...layers.map((l) => layerRow(l, l.id === highlightId)));
  if (!layers.length) {
    const tr = el('tr');
    const td = el('td', null, '还没有图层，用下面的表单导入 · No layer yet: import one with the form below.');
    td.colSpan = 11;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  $('layers-summary').textContent = `${layers.length} 个图层 · ${layers.length} layer(s)`;
  $('layer-ids').replaceChildren(
    ...layers.map((l) => {
      const o = el('option');
      o.value = l.id;
      o.label = `${l.name} · v${l.version}`;
      return o;
    }),
  );
  describeLayerId();
}

async function reloadLayers(highlightId) {
  const response = await fetch(config.list_url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (!response.ok) return;
  layers = (await response.json()).layers;
  renderLayers(highlightId);
}

// --- the form ------------------------------------------------------------------------------

function fillSelects() {
  $('kind').appendChild(el('option', null, '— 请选择 · Choose a kind —')).value = '';
  for (const k of config.kinds) {
    const o = el('option', null, `${k.title_zh} · ${k.title_en} (${k.name})`);
    o.value = k.name;
    $('kind').appendChild(o);
  }
  for (const group of config.crs_groups) {
    const g = el('optgroup');
    g.label = group.label;
    for (const c of group.options) {
      const o = el('option', null, c.label);
      o.value = c.value;
      g.appendChild(o);
    }
    $('crs').appendChild(g);
  }
}

function describeKind() {
  const k = kinds[$('kind').value];
  if (!k) {
    $('kind-hint').textContent = '';
    return;
  }
  const geometry = { polygon: '面 · polygons', line: '线 · lines', point: '点 · points' }[k.geometry];
  let text = `几何 · Geometry: ${geometry}.`;
  if (k.required.length) {
    text += ` 必需属性 · Required attributes: ${k.required.join(', ')}（源字段名不同时请映射，如 DLBM=${k.required[0]} · map a differently named source field, e.g. DLBM=${k.required[0]}).`;
  } else if (k.attributes.length) {
    text += ` 可选属性 · Optional attributes: ${k.attributes.join(', ')}.`;
  }
  $('kind-hint').textContent = text;
}

function describeLayerId() {
  const id = $('layer').value.trim();
  const existing = layers.find((l) => l.id === id);
  const hint = $('layer-hint');
  if (!existing) {
    hint.textContent = id
      ? `将新建图层 ${id} · Creates a new layer ${id}.`
      : '新 ID 建新图层，已有 ID 导入为新版本 · A new id creates a layer; an existing id gets a new version.';
    return;
  }
  hint.textContent = `已有图层「${existing.name}」：将导入为第 ${existing.version + 1} 版，类型须为 ${existing.kind} · Existing layer: this becomes version ${existing.version + 1}; the kind stays ${existing.kind}.`;
  $('kind').value = existing.kind;
  describeKind();
}

function describeFile() {
  const file = $('file').files[0];
  const hint = $('file-hint');
  if (!file) {
    hint.textContent = `最大 · At most ${number(config.max_upload_bytes / 1048576, 0)} MB`;
    return;
  }
  const zipped = /\.zip$/i.test(file.name);
  hint.textContent = `${file.name}: ${number(file.size / 1024, 1)} KB${zipped ? ' · shapefile (.zip)' : ''}`;
  // A zipped shapefile usually says its CRS in the .prj; GeoJSON never does.
  if (!crsTouched) $('crs').value = zipped ? '' : config.crs_groups[0].options[0].value;
  if (file.size > config.max_upload_bytes) {
    hint.textContent += ` — 超过上限 · over the ${number(config.max_upload_bytes / 1048576, 0)} MB limit`;
  }
}

function formData() {
  const form = $('upload-form');
  const data = new FormData();
  data.append('csrf_token', form.elements.csrf_token.value);
  data.append('layer', $('layer').value.trim());
  data.append('kind', $('kind').value);
  data.append('crs', $('crs').value);
  data.append('name', $('name').value.trim());
  data.append('department', $('department').value.trim());
  for (const line of $('map').value.split(/\r?\n/)) {
    if (line.trim()) data.append('map', line.trim());
  }
  if ($('repair').checked) data.append('repair', '1');
  if ($('restricted').checked) data.append('restricted', '1');
  if ($('as_of').value) data.append('as_of', $('as_of').value);
  if ($('replace').checked) data.append('replace', '1');
  data.append('file', $('file').files[0]);
  return data;
}

function setBusy(busy, stage, percent) {
  const form = $('upload-form');
  form.setAttribute('aria-busy', busy ? 'true' : 'false');
  $('upload-button').disabled = busy;
  $('upload-progress').hidden = !busy;
  if (stage) $('upload-stage').textContent = stage;
  const bar = $('upload-bar');
  if (percent === null) bar.removeAttribute('value');
  else if (percent !== undefined) bar.value = percent;
}

/** POST the form with XMLHttpRequest (fetch has no upload progress); resolves to {status, body}. */
function send(data) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', config.import_url);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', data.get('csrf_token'));
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) setBusy(true, `上传中 · Uploading ${Math.round((100 * e.loaded) / e.total)} %`, (100 * e.loaded) / e.total);
    });
    // Once the bytes are sent the server parses, validates and writes: no fraction to show.
    xhr.upload.addEventListener('load', () => setBusy(true, '导入中（校验、投影、写入）· Importing (validating, reprojecting, writing)…', null));
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener('error', () => resolve({ status: 0, body: null }));
    xhr.addEventListener('timeout', () => resolve({ status: 0, body: null }));
    xhr.send(data);
  });
}

// --- the result ----------------------------------------------------------------------------

function showResult(ok, heading, detail) {
  $('result').hidden = false;
  $('result').dataset.outcome = ok ? 'ok' : 'failed';
  $('result-h').textContent = heading;
  $('result-detail').textContent = detail || '';
  $('result-summary').hidden = true;
  $('problems-wrap').hidden = true;
  $('result-h').focus();
}

function showSummary(s) {
  const heading = `✓ 导入成功 · Imported: ${number(s.feature_count)} 个要素 · features → ${s.layer_id} v${s.version}`;
  showResult(true, heading, '');
  const rows = [
    ['图层 · Layer', s.layer_id],
    ['版本 · Version', s.version],
    ['要素数 · Features imported', number(s.feature_count)],
    ['源坐标系 · Source CRS', s.source_crs],
    ['用时 · Time', `${s.seconds} s`],
  ];
  if (kinds[s.kind]?.geometry === 'polygon') rows.push(['总面积 · Total area', `${number(s.total_area_m2, 2)} m²`]);
  if (kinds[s.kind]?.geometry === 'line') rows.push(['总长度 · Total length', `${number(s.total_length_m, 2)} m`]);
  if (s.as_of) rows.push(['现状时点 · As of', s.as_of]);
  if (s.repaired) rows.push(['已修复 · Repaired', number(s.repaired)]);
  const dl = $('result-summary');
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
  dl.hidden = false;
}

function showProblem(status, problem) {
  if (!problem || typeof problem !== 'object') {
    showResult(false, '✗ 导入失败 · Import failed', `${problemText(status, null)} 未保存任何内容 · Nothing was stored.`);
    return;
  }
  const errors = Array.isArray(problem.errors) ? problem.errors : [];
  const located = errors.filter((e) => ['feature', 'part', 'ring', 'vertex', 'line'].some((k) => e[k] !== undefined));
  const heading = located.length
    ? `✗ 导入失败：${located.length} 处要素问题，未保存任何内容 · Import failed: ${located.length} problem(s) in features, nothing stored`
    : `✗ 导入失败，未保存任何内容 · Import failed, nothing stored (${problem.status || status} ${problem.title || ''})`;
  showResult(false, heading, problemText(status, problem));
  if (!errors.length) return;
  const dash = (v) => (v === undefined || v === null ? '—' : v);
  $('problems-body').replaceChildren(
    ...errors.map((e) => {
      const tr = el('tr');
      tr.append(
        el('td', 'pf-num', dash(e.feature)),
        el('td', 'pf-num', dash(e.part)),
        el('td', 'pf-num', dash(e.ring)),
        el('td', 'pf-num', dash(e.vertex)),
        el('td', null, e.line !== undefined ? `line ${e.line}` : dash(e.field)),
        el('td', null, e.message),
      );
      return tr;
    }),
  );
  $('problems-wrap').hidden = false;
}

async function submit(event) {
  event.preventDefault();
  const missing = [];
  if (!$('file').files.length) missing.push(['file', '请选择文件 · Choose a file']);
  if (!$('layer').value.trim()) missing.push(['layer', '请填写图层 ID · Enter a layer id']);
  if (!$('kind').value) missing.push(['kind', '请选择类型 · Choose a kind']);
  for (const id of ['file', 'layer', 'kind']) $(id).removeAttribute('aria-invalid');
  for (const [id] of missing) $(id).setAttribute('aria-invalid', 'true');
  if (missing.length) {
    showResult(false, '✗ 表单未填完 · The form is incomplete', missing.map((m) => m[1]).join('; '));
    $(missing[0][0]).focus();
    return;
  }
  setBusy(true, '上传中 · Uploading 0 %', 0);
  const { status, body } = await send(formData());
  setBusy(false);
  if (status === 201 && body) {
    showSummary(body);
    await reloadLayers(body.layer_id);
  } else {
    showProblem(status, body);
  }
}

fillSelects();
renderLayers();
describeKind();
describeFile();
$('kind').addEventListener('change', describeKind);
$('layer').addEventListener('input', describeLayerId);
$('crs').addEventListener('change', () => {
  crsTouched = true;
});
$('file').addEventListener('change', describeFile);
$('upload-form').addEventListener('submit', submit);
