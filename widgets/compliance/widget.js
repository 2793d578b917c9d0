// The compliance widget (项目合规审查): the red line (upload, 界址点 list, drawing, or the
// project the host locked), the requested land use and project type → POST
// /api/v1/compliance/check → the verdict, the checklist, the map of overlap pieces, print,
// CSV/XLSX export, and the `result` / `item-selected` events for the host.
import '../common/base.css';
import './widget.css';
import { describe, el, table } from '../common/dom.js';
import { saveBlob } from '../common/export.js';
import { formatNumber, localized, percentText, toMu } from '../common/format.js';
import { createWidgetMap } from '../common/map.js';
import { startWidget } from '../common/runtime.js';
import { CRS_OPTIONS, STATUS_ICONS, checkBody, geodesicAreaM2, itemOverlay, resultPayload } from './model.js';

/** Layer kinds drawn under the overlays for context; the busy plan layer starts hidden. */
const CONTEXT_KINDS = { district: true, basic_farmland: true, ecological_redline: true, urban_boundary: true, control_line: true, sensitive_zone: true, land_use_plan: false };

const messages = {
  'zh-CN': {
    'crs.auto': '按文件自动识别（.prj / crs，默认 CGCS2000 经纬度）',
    'land_use.choose': '请选择申请用途……',
    'land_use.all': '（整类）',
    'form.need_geometry': '请先提供项目红线：上传文件、输入界址点坐标或在地图上绘制。',
    'form.need_land_use': '请选择申请用途。',
    'form.need_crs': '请选择界址点坐标的坐标系。',
    'form.repair': '自动修复红线并重新审查',
    'form.repair_preview': '自动修复红线',
    'form.reading': '正在读取文件……',
    'form.checking': '正在审查……',
    'form.drawing': '请在地图上绘制红线：逐点单击，双击结束；Esc 取消。',
    'form.draw_cancelled': '已取消绘制。',
    'preview.text': '已读取 {file}：{parts} 个面，面积 {area} m²（{mu} 亩），坐标系 {crs}。',
    'preview.drawn': '已绘制红线：面积约 {area} m²（{mu} 亩）。',
    'preview.notes': '说明：{notes}',
    'locked.text': '项目已由宿主系统锁定：{name}（{id}），申请用途 {land_use}，面积 {area} m²。',
    'locked.loading': '项目已由宿主系统锁定：{id}',
    'verdict.title': '综合结论：{status}',
    'verdict.summary': '项目面积 {area} m²（{mu} 亩）· 报告编号 {id} · 签名指纹 {fp}',
    'verdict.announce': '审查完成。综合结论：{status}。{details}',
    'verdict.item': '{title}：{status}',
    'detail.heading': '{title}：{status}',
    'detail.features': '决定结论的图斑（{shown} / {total}）',
    'detail.truncated': '仅列出面积最大的 {shown} 个。',
    'detail.none': '未涉及任何图斑。',
    'detail.layer': '图层',
    'detail.fid': '编号',
    'detail.attributes': '属性',
    'detail.area': '重叠面积（m²）',
    'detail.counted': '计入',
    'detail.yes': '是',
    'detail.no': '否',
    'detail.classes': '规划用途构成',
    'detail.allowed': '允许',
    'detail.not_allowed': '不允许',
    'detail.outside': '边界外面积 {area} m²',
    'item.select': '选择“{title}”以在地图上定位',
    'export.failed': '导出失败：{message}',
    'print.report': '报告编号',
    'print.created': '审查时间',
    'print.project': '项目',
    'print.land_use': '申请用途',
    'print.type': '项目类型',
    'print.crs': '坐标系',
    'print.ruleset': '审查规则',
    'print.by': '审查人',
    'print.area': '项目面积',
    'print.signature': '本报告由 PlanFuse 以 ES256 签名（密钥 {kid}，公钥 {jwks}）。签名指纹：{fp}',
    'type.urban': '城镇建设',
    'type.linear': '线性工程',
    'type.major': '重大项目',
    'type.other': '其他',
    'map.failed': '地图无法显示：{message}',
    'command.locked': '项目已锁定，不能替换红线。',
    'command.unknown_rule': '未知的审查项：{rule}',
    'command.no_result': '尚无审查结果。',
  },
  en: {
    'crs.auto': 'From the file (.prj / crs member; default CGCS2000 lon/lat)',
    'land_use.choose': 'Choose the requested land use…',
    'land_use.all': '(whole class)',
    'form.need_geometry': 'Give the project red line first: upload a file, enter boundary points or draw on the map.',
    'form.need_land_use': 'Choose the requested land use.',
    'form.need_crs': 'Choose the coordinate system of the boundary points.',
    'form.repair': 'Repair the red line and check again',
    'form.repair_preview': 'Repair the red line',
    'form.reading': 'Reading the file…',
    'form.checking': 'Checking…',
    'form.drawing': 'Draw the red line on the map: click each corner, double-click to finish; Esc cancels.',
    'form.draw_cancelled': 'Drawing cancelled.',
    'preview.text': 'Read {file}: {parts} polygon(s), {area} m² ({mu} mu), coordinate system {crs}.',
    'preview.drawn': 'Red line drawn: about {area} m² ({mu} mu).',
    'preview.notes': 'Notes: {notes}',
    'locked.text': 'The host locked the project: {name} ({id}), requested use {land_use}, {area} m².',
    'locked.loading': 'The host locked the project: {id}',
    'verdict.title': 'Verdict: {status}',
    'verdict.summary': 'Project area {area} m² ({mu} mu) · report {id} · signature fingerprint {fp}',
    'verdict.announce': 'Check finished. Verdict: {status}. {details}',
    'verdict.item': '{title}: {status}',
    'detail.heading': '{title}: {status}',
    'detail.features': 'Features that decide the result ({shown} of {total})',
    'detail.truncated': 'Only the {shown} largest are listed.',
    'detail.none': 'No feature is involved.',
    'detail.layer': 'Layer',
    'detail.fid': 'Id',
    'detail.attributes': 'Attributes',
    'detail.area': 'Overlap (m²)',
    'detail.counted': 'Counted',
    'detail.yes': 'yes',
    'detail.no': 'no',
    'detail.classes': 'Planned land use under the project',
    'detail.allowed': 'allowed',
    'detail.not_allowed': 'not allowed',
    'detail.outside': '{area} m² outside the boundary',
    'item.select': 'Select “{title}” to show it on the map',
    'export.failed': 'Export failed: {message}',
    'print.report': 'Report',
    'print.created': 'Checked at',
    'print.project': 'Project',
    'print.land_use': 'Requested land use',
    'print.type': 'Project type',
    'print.crs': 'Coordinate system',
    'print.ruleset': 'Ruleset',
    'print.by': 'Checked by',
    'print.area': 'Project area',
    'print.signature': 'Signed by PlanFuse with ES256 (key {kid}, public keys at {jwks}). Signature fingerprint: {fp}',
    'type.urban': 'Urban construction',
    'type.linear': 'Linear infrastructure',
    'type.major': 'Major project',
    'type.other': 'Other',
    'map.failed': 'The map cannot be shown: {message}',
    'command.locked': 'The project is locked; its red line cannot be replaced.',
    'command.unknown_rule': 'Unknown checklist item: {rule}',
    'command.no_result': 'There is no result yet.',
  },
};

function fmt(ctx, value, digits = 2) {
  return formatNumber(ctx.locale, value, digits);
}

function statusBadge(ctx, status, name) {
  const badge = el('span', 'pfc-status');
  badge.dataset.status = status;
  badge.append(el('span', 'pfc-status-icon', STATUS_ICONS[status] || '•'));
  badge.lastChild.setAttribute('aria-hidden', 'true');
  badge.append(el('span', 'pfc-status-text', localized(name, ctx.locale) || status));
  return badge;
}

// --- the widget ---------------------------------------------------------------------------

const state = {
  locked: false,
  project: null,
  source: 'file',
  geometry: null,
  crs: '',
  landUse: '',
  projectType: 'urban',
  ruleset: null,
  repair: false,
  submitted: false,
  report: null,
  selected: null,
};
let map = null;
let mapReady = Promise.resolve();
const $ = (id) => document.getElementById(id);

function showFormError(ctx, problem) {
  const box = $('pfc-form-error');
  box.textContent = '';
  const detail = problem.detail || problem.message || String(problem);
  box.append(el('p', null, detail));
  const where = (problem.errors || []).filter((e) => e.message && e.field !== 'repair').slice(0, 5);
  if (where.length > 1) {
    const list = el('ul');
    for (const e of where) list.append(el('li', null, e.where ? `${e.where}: ${e.message}` : e.message));
    box.append(list);
  }
  const repairable = (problem.errors || []).some((e) => e.repairable);
  if (repairable) {
    const button = el('button', 'pf-button pf-button-secondary', ctx.t(problem.preview ? 'form.repair_preview' : 'form.repair'));
    button.type = 'button';
    button.id = 'pfc-repair';
    button.addEventListener('click', async () => {
      state.repair = true;
      // A repaired preview goes straight on to the check the user already asked for.
      if (problem.preview && !(await problem.preview())) return;
      if (!problem.preview || state.submitted) runCheck(ctx).catch(() => {});
    });
    box.append(button);
  }
  box.hidden = false;
  ctx.emit('error', { code: problem.code || 'check_failed', message: detail, status: problem.status });
}

function clearFormError() {
  const box = $('pfc-form-error');
  box.hidden = true;
  box.textContent = '';
}

function setBusy(busy, text) {
  const button = $('pfc-check');
  button.disabled = busy;
  $('pfc').setAttribute('aria-busy', busy ? 'true' : 'false');
  if (text !== undefined) showPreview(null, text);
}

function showPreview(ctx, text) {
  // Always laid out (an empty line when there is nothing to say): text appearing on blur
  // must not move the 审查 button away from under the pointer.
  const preview = $('pfc-preview');
  preview.textContent = text;
  preview.hidden = false;
}

function showProject(geometry, fit = true) {
  if (!map || !geometry) return;
  map.setOverlay('project', { type: 'FeatureCollection', features: [{ type: 'Feature', id: 'project', geometry, properties: { id: 'project' } }] }, 'project');
  if (fit) map.fitTo('project');
}

function buildCrsSelect(ctx, preferred) {
  const select = $('pfc-crs');
  select.textContent = '';
  const auto = el('option', null, ctx.t('crs.auto'));
  auto.value = '';
  select.append(auto);
  for (const option of CRS_OPTIONS) {
    const node = el('option', null, `${option.value} · ${ctx.locale === 'en' ? option.en : option.zh}`);
    node.value = option.value;
    select.append(node);
  }
  if (preferred && !CRS_OPTIONS.some((o) => o.value === preferred)) {
    const node = el('option', null, preferred);
    node.value = preferred;
    select.append(node);
  }
  select.value = preferred || '';
}

async function buildLandUseSelect(ctx, preferred) {
  const select = $('pfc-land-use');
  const { classes } = await ctx.api('compliance/land-use-classes', { query: { max_level: 3 } });
  select.textContent = '';
  const placeholder = el('option', null, ctx.t('land_use.choose'));
  placeholder.value = '';
  select.append(placeholder);
  let group = null;
  for (const cls of classes) {
    const name = localized(cls.name, ctx.locale);
    if (cls.level === 1) {
      group = el('optgroup');
      group.label = `${cls.code} ${name}`;
      select.append(group);
      const whole = el('option', null, `${cls.code} ${name} ${ctx.t('land_use.all')}`);
      whole.value = cls.code;
      group.append(whole);
    } else {
      // Level-3 classes are indented under their level-2 class (no nested optgroups in HTML).
      const option = el('option', null, `${cls.level === 3 ? '\u00a0\u00a0\u00a0' : ''}${cls.code} ${name}`);
      option.value = cls.code;
      (group || select).append(option);
    }
  }
  select.value = preferred && classes.some((c) => c.code === preferred) ? preferred : '';
  state.landUse = select.value;
  return classes;
}

function landUseName(ctx, landUse) {
  return `${landUse.code} ${localized(landUse.name, ctx.locale)}`;
}

// --- input ---------------------------------------------------------------------------------

function selectSource(value) {
  state.source = value;
  for (const pane of document.querySelectorAll('.pfc-pane')) pane.hidden = pane.dataset.source !== value;
  if (value === 'draw') $('pfc-crs').value = 'EPSG:4490';
}

async function parseUpload(ctx, file, name) {
  clearFormError();
  const form = new FormData();
  form.append('file', file, name);
  const crs = $('pfc-crs').value;
  if (crs) form.append('crs', crs);
  if (state.repair) form.append('repair', 'true');
  // Only the check itself disables the form: a preview must not swallow a click on 审查.
  showPreview(ctx, ctx.t('form.reading'));
  try {
    const parsed = await ctx.api('compliance/parse', { method: 'POST', body: form });
    state.geometry = parsed.geometry;
    state.crs = parsed.crs;
    let text = ctx.t('preview.text', { file: parsed.file, parts: parsed.parts, area: fmt(ctx, parsed.area_m2), mu: fmt(ctx, toMu(parsed.area_m2)), crs: parsed.crs });
    if (parsed.notes && parsed.notes.length) text += ` ${ctx.t('preview.notes', { notes: parsed.notes.join('；') })}`;
    showPreview(ctx, text);
    showProject(parsed.geometry_4490);
    ctx.announce(text);
    return true;
  } catch (error) {
    state.geometry = null;
    showPreview(ctx, '');
    showFormError(ctx, { ...(error.problem || {}), code: error.code, status: error.status, detail: error.detail || error.message, errors: error.errors, preview: () => parseUpload(ctx, file, name) });
    return false;
  }
}

async function startDrawing(ctx) {
  if (!map) return;
  clearFormError();
  showPreview(ctx, ctx.t('form.drawing'));
  ctx.announce(ctx.t('form.drawing'));
  const geometry = await map.draw('Polygon');
  if (!geometry) {
    showPreview(ctx, ctx.t('form.draw_cancelled'));
    return;
  }
  state.geometry = geometry;
  state.crs = 'EPSG:4490';
  $('pfc-crs').value = 'EPSG:4490';
  showProject(geometry, false);
  const area = geodesicAreaM2(geometry);
  const text = ctx.t('preview.drawn', { area: fmt(ctx, area), mu: fmt(ctx, toMu(area)) });
  showPreview(ctx, text);
  ctx.announce(text);
}

function readForm(ctx) {
  state.crs = state.source === 'coordinates' || state.source === 'draw' ? $('pfc-crs').value : state.crs || $('pfc-crs').value;
  state.landUse = $('pfc-land-use').value;
  const type = document.querySelector('input[name="project_type"]:checked');
  state.projectType = type ? type.value : 'urban';
  if (state.source === 'coordinates') state.geometry = $('pfc-coords').value.trim() || null;
}

function validateForm(ctx) {
  if (state.locked) return null;
  if (!state.geometry) return { field: 'pfc-source', message: ctx.t('form.need_geometry') };
  if (state.source === 'coordinates' && !state.crs) return { field: 'pfc-crs', message: ctx.t('form.need_crs') };
  if (!state.landUse) return { field: 'pfc-land-use', message: ctx.t('form.need_land_use') };
  return null;
}

// --- check and result ------------------------------------------------------------------------

async function runCheck(ctx, overrides = null) {
  clearFormError();
  if (!overrides) readForm(ctx);
  const invalid = overrides ? null : validateForm(ctx);
  if (invalid) {
    showFormError(ctx, { code: 'invalid_request', detail: invalid.message });
    const target = $(invalid.field);
    if (target) ctx.focus(target.querySelector('input, select, textarea, button') || target);
    return null;
  }
  const body = overrides || checkBody(state);
  state.submitted = true;
  setBusy(true, ctx.t('form.checking'));
  ctx.announce(ctx.t('form.checking'));
  try {
    const report = await ctx.api('compliance/check', { method: 'POST', body });
    state.repair = false;
    state.submitted = false;
    showPreview(ctx, '');
    await renderReport(ctx, report);
    return report;
  } catch (error) {
    showFormError(ctx, { code: error.code, status: error.status, detail: error.detail || error.message, errors: error.errors });
    if (!overrides) ctx.focus($('pfc-form-error'));
    throw error;
  } finally {
    setBusy(false);
  }
}

async function renderReport(ctx, report) {
  state.report = report;
  state.selected = null;
  const verdictName = localized(report.verdict_name, ctx.locale);
  const banner = $('pfc-verdict');
  banner.dataset.status = report.verdict;
  $('pfc-verdict-icon').textContent = STATUS_ICONS[report.verdict] || '';
  $('pfc-verdict-title').textContent = ctx.t('verdict.title', { status: verdictName });
  $('pfc-verdict-summary').textContent = ctx.t('verdict.summary', {
    area: fmt(ctx, report.project_area_m2),
    mu: fmt(ctx, toMu(report.project_area_m2)),
    id: report.id,
    fp: report.signature.fingerprint,
  });
  renderItems(ctx, report);
  renderPrintMeta(ctx, report);
  $('pfc-detail').textContent = '';
  $('pfc-result').hidden = false;
  $('pfc-input').classList.toggle('pfc-collapsed', true);
  showProject(report.input.geometry);
  if (map) map.clearOverlay('pieces');
  const details = report.items.map((i) => ctx.t('verdict.item', { title: localized(i.title, ctx.locale), status: localized(i.status_name, ctx.locale) })).join('；');
  ctx.announce(ctx.t('verdict.announce', { status: verdictName, details }), { assertive: report.verdict === 'fail' });
  ctx.focus(banner);
  ctx.emit('result', resultPayload(report));
  snapshotMap();
}

function renderItems(ctx, report) {
  const body = $('pfc-items-body');
  body.textContent = '';
  for (const item of report.items) {
    const row = el('tr');
    row.dataset.rule = item.rule;
    row.dataset.status = item.status;
    const head = el('th');
    head.scope = 'row';
    const button = el('button', 'pfc-item-button', localized(item.title, ctx.locale));
    button.type = 'button';
    button.setAttribute('aria-pressed', 'false');
    button.setAttribute('aria-controls', 'pfc-detail');
    button.title = ctx.t('item.select', { title: localized(item.title, ctx.locale) });
    button.addEventListener('click', () => selectItem(ctx, item.rule));
    button.addEventListener('keydown', (event) => moveSelection(event, row));
    head.append(button);
    const status = el('td');
    status.append(statusBadge(ctx, item.status, item.status_name));
    const area = el('td', 'pfc-num', item.status === 'not_checked' ? '—' : fmt(ctx, item.overlap_area_m2));
    const mu = el('td', 'pfc-num', item.status === 'not_checked' ? '—' : fmt(ctx, toMu(item.overlap_area_m2)));
    const share = el('td', 'pfc-num', item.status === 'not_checked' ? '—' : percentText(ctx.locale, item.overlap_ratio));
    row.append(head, status, area, mu, share);
    row.addEventListener('click', (event) => {
      if (event.target === row || event.target.tagName === 'TD' || event.target.closest('td')) selectItem(ctx, item.rule);
    });
    const reason = el('tr', 'pfc-reason-row');
    const cell = el('td', 'pfc-reason', localized(item.reason, ctx.locale));
    cell.colSpan = 5;
    reason.append(cell);
    body.append(row, reason);
  }
}

function moveSelection(event, row) {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
  const rows = [...document.querySelectorAll('#pfc-items-body tr[data-rule]')];
  const next = rows[rows.indexOf(row) + (event.key === 'ArrowDown' ? 1 : -1)];
  if (next) {
    event.preventDefault();
    next.querySelector('button').focus();
  }
}

function selectItem(ctx, rule, { emit = true } = {}) {
  const report = state.report;
  if (!report) throw Object.assign(new Error(ctx.t('command.no_result')), { code: 'no_result' });
  const item = report.items.find((i) => i.rule === rule);
  if (!item) throw Object.assign(new Error(ctx.t('command.unknown_rule', { rule })), { code: 'unknown_rule' });
  state.selected = rule;
  for (const row of document.querySelectorAll('#pfc-items-body tr[data-rule]')) {
    const on = row.dataset.rule === rule;
    row.classList.toggle('pfc-selected', on);
    row.querySelector('button').setAttribute('aria-pressed', on ? 'true' : 'false');
  }
  renderDetail(ctx, item);
  if (map) {
    const overlay = itemOverlay(item);
    if (overlay.features.length) {
      map.setOverlay('pieces', overlay, 'overlap');
      map.fitTo('pieces', { maxZoom: 18 });
    } else {
      map.clearOverlay('pieces');
      map.fitTo('project');
    }
  }
  if (emit) ctx.emit('item-selected', { rule: item.rule, status: item.status, overlap_area_m2: item.overlap_area_m2, feature_count: item.feature_count });
  return item;
}

function renderDetail(ctx, item) {
  const box = $('pfc-detail');
  box.textContent = '';
  box.append(el('h3', null, ctx.t('detail.heading', { title: localized(item.title, ctx.locale), status: localized(item.status_name, ctx.locale) })));
  box.append(el('p', null, localized(item.reason, ctx.locale)));
  const details = item.details || {};
  if (details.classes && details.classes.length) {
    box.append(el('h4', null, ctx.t('detail.classes')));
    const list = el('ul', 'pfc-classes');
    for (const c of details.classes) {
      const li = el('li');
      li.append(statusBadge(ctx, c.allowed ? 'pass' : 'fail', { [ctx.locale]: ctx.t(c.allowed ? 'detail.allowed' : 'detail.not_allowed') }));
      li.append(document.createTextNode(` ${c.code} ${localized(c.name, ctx.locale)} — ${fmt(ctx, c.area_m2)} m²`));
      list.append(li);
    }
    box.append(list);
  }
  for (const key of ['by_class', 'by_type', 'by_zone']) {
    if (!details[key] || !details[key].length) continue;
    const list = el('ul', 'pfc-classes');
    for (const c of details[key]) {
      const li = el('li');
      if (c.status) li.append(statusBadge(ctx, c.status, { [ctx.locale]: c.status }), document.createTextNode(' '));
      const level = c.level ? ` (${c.level})` : '';
      li.append(document.createTextNode(`${localized(c.name, ctx.locale)}${level} — ${fmt(ctx, c.area_m2)} m²`));
      list.append(li);
    }
    box.append(list);
  }
  if (details.outside_area_m2) box.append(el('p', null, ctx.t('detail.outside', { area: fmt(ctx, details.outside_area_m2) })));
  if (!item.features.length) {
    if (item.status !== 'not_checked') box.append(el('p', null, ctx.t('detail.none')));
    return;
  }
  box.append(el('h4', null, ctx.t('detail.features', { shown: item.features.length, total: item.counted_feature_count ?? item.feature_count })));
  if (item.features_truncated) box.append(el('p', null, ctx.t('detail.truncated', { shown: item.features.length })));
  const headers = ['detail.layer', 'detail.fid', 'detail.attributes', 'detail.area', 'detail.counted'].map((key) => (key === 'detail.area' ? [ctx.t(key), 'pfc-num'] : ctx.t(key)));
  const rows = item.features.slice(0, 50).map((f) => {
    const row = el('tr');
    const attrs = Object.entries(f.attributes || {})
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    row.append(el('td', null, f.layer), el('td', null, String(f.fid)), el('td', null, attrs), el('td', 'pfc-num', fmt(ctx, f.overlap_area_m2)), el('td', null, ctx.t(f.counted ? 'detail.yes' : 'detail.no')));
    row.tabIndex = 0;
    row.addEventListener('click', () => map && map.highlight('pieces', `${f.layer}:${f.fid}`, { zoom: true }));
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && map) map.highlight('pieces', `${f.layer}:${f.fid}`, { zoom: true });
    });
    return row;
  });
  box.append(table(null, headers, rows, 'pfc-features'));
}

function renderPrintMeta(ctx, report) {
  const meta = $('pfc-print-meta');
  meta.textContent = '';
  const by = report.checked_by || {};
  const rows = [
    ['print.report', report.id],
    ['print.created', new Date(report.created_at).toLocaleString(ctx.locale)],
    ['print.project', report.project ? `${report.project.name} (${report.project.id})` : '—'],
    ['print.land_use', landUseName(ctx, report.land_use)],
    ['print.type', ctx.t(`type.${report.project_type}`)],
    ['print.area', `${fmt(ctx, report.project_area_m2)} m² (${fmt(ctx, toMu(report.project_area_m2))} ${ctx.locale === 'en' ? 'mu' : '亩'})`],
    ['print.crs', `${report.input.crs}`],
    ['print.ruleset', `${report.ruleset.id} v${report.ruleset.version}`],
    ['print.by', [by.name, by.dept, by.user].filter(Boolean).join(' · ') || by.app || '—'],
  ];
  describe(meta, rows.map(([key, value]) => [ctx.t(key), value]));
  $('pfc-print-signature').textContent = ctx.t('print.signature', {
    kid: report.signature.kid,
    jwks: new URL(report.signature.jwks_url, location.href).href,
    fp: report.signature.fingerprint,
  });
}

/** Keep a still image of the map for print (the live canvas is hidden in print). */
async function snapshotMap() {
  if (!map) return;
  const image = await map.toImage();
  let img = $('pfc-print-map');
  if (!img) {
    img = el('img', 'pfc-print-map');
    img.id = 'pfc-print-map';
    $('pfc-map-section').prepend(img);
  }
  img.alt = document.documentElement.lang === 'en' ? 'Map of the project and the selected overlaps' : '项目红线与所选审查项的地图';
  if (image) img.src = image;
  else img.removeAttribute('src');
}

async function download(ctx, ext) {
  const report = state.report;
  if (!report) return;
  try {
    const response = await ctx.api(`compliance/reports/${encodeURIComponent(report.id)}/items.${ext}`, { raw: true, query: { locale: ctx.locale } });
    saveBlob(await response.blob(), `${report.id}.${ext}`);
  } catch (error) {
    ctx.showStatus(ctx.t('export.failed', { message: error.detail || error.message }), 'error');
  }
}

async function printReport() {
  await snapshotMap();
  window.print();
}

// --- locked project ---------------------------------------------------------------------------

async function loadLockedProject(ctx, id) {
  state.locked = true;
  $('pfc-form').querySelector('#pfc-source').hidden = true;
  $('pfc-locked').hidden = false;
  $('pfc-locked-text').textContent = ctx.t('locked.loading', { id });
  const project = await ctx.api(`projects/${encodeURIComponent(id)}`);
  state.project = project;
  $('pfc-locked-text').textContent = ctx.t('locked.text', { name: project.name, id: project.id, land_use: project.land_use, area: fmt(ctx, project.area_m2) });
  $('pfc-land-use').value = project.land_use;
  $('pfc-land-use').disabled = true;
  for (const radio of document.querySelectorAll('input[name="project_type"]')) {
    radio.checked = radio.value === project.project_type;
    radio.disabled = true;
  }
  showProject(project.geometry);
}

function applyLockedParams(ctx) {
  const locked = ctx.lockedParams || {};
  if (locked.land_use) $('pfc-land-use').disabled = true;
  if (locked.project_type) for (const radio of document.querySelectorAll('input[name="project_type"]')) radio.disabled = true;
  if (locked.crs) $('pfc-crs').disabled = true;
}

// --- start --------------------------------------------------------------------------------------

async function setUpMap(ctx) {
  const element = $('pfc-map');
  try {
    const catalogue = await ctx.api('layers');
    const layers = (catalogue.layers || [])
      .filter((l) => Object.hasOwn(CONTEXT_KINDS, l.kind))
      .map((l) => ({ ...l, visible: CONTEXT_KINDS[l.kind] }));
    map = createWidgetMap(ctx, element, { layers, identify: true });
    map.on('error', (e) => ctx.emit('error', { code: 'layer_unavailable', message: e.message, layer: e.layer, status: e.status }));
  } catch (error) {
    element.append(el('p', 'pfc-map-failed', ctx.t('map.failed', { message: error.message })));
  }
}

startWidget({
  name: 'compliance',
  messages,
  async init(ctx) {
    const params = ctx.params || {};
    state.ruleset = params.ruleset || null;
    buildCrsSelect(ctx, params.crs || '');
    await buildLandUseSelect(ctx, params.land_use || '');
    if (params.project_type) {
      for (const radio of document.querySelectorAll('input[name="project_type"]')) radio.checked = radio.value === params.project_type;
    }
    await setUpMap(ctx);
    applyLockedParams(ctx);

    for (const radio of document.querySelectorAll('input[name="source"]')) radio.addEventListener('change', () => selectSource(radio.value));
    $('pfc-file').addEventListener('change', (event) => {
      const file = event.target.files && event.target.files[0];
      state.repair = false;
      if (file) parseUpload(ctx, file, file.name);
    });
    $('pfc-coords').addEventListener('change', () => {
      state.repair = false;
      const text = $('pfc-coords').value.trim();
      state.geometry = text || null;
      if (text && $('pfc-crs').value) parseUpload(ctx, new Blob([text], { type: 'text/plain' }), 'coordinates.txt');
    });
    $('pfc-crs').addEventListener('change', () => {
      state.crs = $('pfc-crs').value;
    });
    $('pfc-draw').addEventListener('click', () => startDrawing(ctx));
    $('pfc-form').addEventListener('submit', (event) => {
      event.preventDefault();
      runCheck(ctx).catch(() => {});
    });
    $('pfc-again').addEventListener('click', () => {
      $('pfc-input').classList.remove('pfc-collapsed');
      ctx.focus($('pfc-input-heading'));
    });
    $('pfc-print').addEventListener('click', () => printReport());
    $('pfc-csv').addEventListener('click', () => download(ctx, 'csv'));
    $('pfc-xlsx').addEventListener('click', () => download(ctx, 'xlsx'));
    window.addEventListener('beforeprint', () => {
      const img = $('pfc-print-map');
      if (img && !img.getAttribute('src') && map) snapshotMap();
    });

    const lockedProject = (ctx.lockedParams || {}).project || null;
    if (lockedProject) {
      await loadLockedProject(ctx, lockedProject);
      if (params.auto_check !== false) await runCheck(ctx).catch(() => {});
    }
  },
  commands: {
    async check(payload, ctx) {
      const p = payload || {};
      if (state.locked && p.geometry !== undefined && p.geometry !== null) throw Object.assign(new Error(ctx.t('command.locked')), { code: 'forbidden' });
      readForm(ctx);
      if (!state.locked) {
        if (p.geometry !== undefined) state.geometry = p.geometry;
        if (p.crs !== undefined) state.crs = p.crs;
        if (p.land_use !== undefined) state.landUse = p.land_use;
        if (p.project_type !== undefined) state.projectType = p.project_type;
        if (p.ruleset !== undefined) state.ruleset = p.ruleset;
      }
      state.repair = Boolean(p.repair);
      try {
        const report = await runCheck(ctx, checkBody(state));
        return { report_id: report.id, verdict: report.verdict };
      } catch (error) {
        throw Object.assign(new Error(error.detail || error.message), { code: error.code || 'check_failed' });
      }
    },
    highlight(payload, ctx) {
      const item = selectItem(ctx, (payload || {}).rule);
      const row = document.querySelector(`#pfc-items-body tr[data-rule="${item.rule}"]`);
      if (row) row.scrollIntoView({ block: 'nearest' });
      return { rule: item.rule, status: item.status };
    },
  },
});
