// The compliance widget (项目合规审查): the red line (upload, 界址点 list, drawing, or the
// project the host locked), the requested land use and project type → POST
// /api/v1/compliance/check → the verdict, the checklist, the map of overlap pieces, print,
// CSV/XLSX export, and the `result` / `item-selected` events for the host. Parameters,
// commands, events and errors: manifest.json; texts: messages.js.
import '../common/base.css';
import './widget.css';
import { describe, table } from '../common/dom.js';
import { saveBlob } from '../common/export.js';
import { formatNumber, localized, percentText, toMu } from '../common/format.js';
import { lockIcon } from '../common/icons.js';
import { $, createWidget, el, layersOfKinds } from '../common/widget-base.js';
import { errors } from './manifest.json';
import { messages } from './messages.js';
import { CRS_OPTIONS, STATUS_ICONS, checkBody, geodesicAreaM2, itemOverlay, resultPayload } from './model.js';

/** Layer kinds drawn under the overlays for context; the busy plan layer starts hidden. */
const CONTEXT_KINDS = { district: true, basic_farmland: true, ecological_redline: true, urban_boundary: true, control_line: true, sensitive_zone: true, land_use_plan: false };

function fmt(value, digits = 2) {
  return formatNumber(ctx.locale, value, digits);
}

function statusBadge(status, name) {
  const badge = el('span', 'pfc-status');
  badge.dataset.status = status;
  badge.append(el('span', 'pfc-status-icon', STATUS_ICONS[status] || '•'));
  badge.lastChild.setAttribute('aria-hidden', 'true');
  badge.append(el('span', 'pfc-status-text', localized(name, ctx.locale) || status));
  return badge;
}

// --- the widget ---------------------------------------------------------------------------

const widget = createWidget({
  name: 'compliance',
  messages,
  errors,
  state: {
    map: null,
    /** The host locked the project (its red line, land use and type come from the server). */
    locked: false,
    project: null,
    /** Where the red line comes from: file, coordinates or draw. */
    source: 'file',
    /** The red line (GeoJSON, or 界址点 text for `coordinates`) in `crs`. */
    geometry: null,
    crs: '',
    landUse: '',
    projectType: 'urban',
    ruleset: null,
    /** Send `repair: true` (make_valid) with the next parse or check. */
    repair: false,
    /** A check was asked for and has not answered yet. */
    submitted: false,
    report: null,
    /** The rule of the checklist item selected. */
    selected: null,
  },
});
const { ctx, state, update, t, markLocked, showProblem, startMap } = widget;

/**
 * Show a problem of the red line or the check in the form (in the user's language, see
 * widget-base.js), with a repair button when the server offers make_valid; `preview` re-reads
 * the upload that failed.
 */
function showFormError(problem) {
  const box = $('pfc-form-error');
  showProblem(problem, { into: box, code: 'check_failed' });
  if (!(problem.errors || []).some((e) => e.repairable)) return;
  const button = el('button', 'pf-button pf-button-secondary', t(problem.preview ? 'form.repair_preview' : 'form.repair'));
  button.type = 'button';
  button.id = 'pfc-repair';
  button.addEventListener('click', async () => {
    update({ repair: true });
    // A repaired preview goes straight on to the check the user already asked for.
    if (problem.preview && !(await problem.preview())) return;
    if (!problem.preview || state.submitted) runCheck().catch(() => {});
  });
  box.append(button);
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
  if (text !== undefined) showPreview(text);
}

function showPreview(text) {
  // Always laid out (an empty line when there is nothing to say): text appearing on blur
  // must not move the 审查 button away from under the pointer.
  const preview = $('pfc-preview');
  preview.textContent = text;
  preview.hidden = false;
}

function showProject(geometry, fit = true) {
  if (!state.map || !geometry) return;
  state.map.setOverlay('project', { type: 'FeatureCollection', features: [{ type: 'Feature', id: 'project', geometry, properties: { id: 'project' } }] }, 'project');
  if (fit) state.map.fitTo('project');
}

function buildCrsSelect(preferred) {
  const select = $('pfc-crs');
  select.textContent = '';
  const auto = el('option', null, t('crs.auto'));
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

async function buildLandUseSelect(preferred) {
  const select = $('pfc-land-use');
  const { classes } = await ctx.api('compliance/land-use-classes', { query: { max_level: 3 } });
  select.textContent = '';
  const placeholder = el('option', null, t('land_use.choose'));
  placeholder.value = '';
  select.append(placeholder);
  let group = null;
  for (const cls of classes) {
    const name = localized(cls.name, ctx.locale);
    if (cls.level === 1) {
      group = el('optgroup');
      group.label = `${cls.code} ${name}`;
      select.append(group);
      const whole = el('option', null, `${cls.code} ${name} ${t('land_use.all')}`);
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
  update({ landUse: select.value });
  return classes;
}

function landUseName(landUse) {
  return `${landUse.code} ${localized(landUse.name, ctx.locale)}`;
}

// --- input ---------------------------------------------------------------------------------

function selectSource(value) {
  update({ source: value });
  for (const pane of document.querySelectorAll('.pfc-pane')) pane.hidden = pane.dataset.source !== value;
  if (value === 'draw') $('pfc-crs').value = 'EPSG:4490';
}

async function parseUpload(file, name) {
  clearFormError();
  const form = new FormData();
  form.append('file', file, name);
  const crs = $('pfc-crs').value;
  if (crs) form.append('crs', crs);
  if (state.repair) form.append('repair', 'true');
  // Only the check itself disables the form: a preview must not swallow a click on 审查.
  showPreview(t('form.reading'));
  try {
    const parsed = await ctx.api('compliance/parse', { method: 'POST', body: form });
    update({ geometry: parsed.geometry, crs: parsed.crs });
    let text = t('preview.text', { file: parsed.file, parts: parsed.parts, area: fmt(parsed.area_m2), mu: fmt(toMu(parsed.area_m2)), crs: parsed.crs });
    if (parsed.notes && parsed.notes.length) text += ` ${t('preview.notes', { notes: parsed.notes.join('；') })}`;
    showPreview(text);
    showProject(parsed.geometry_4490);
    ctx.announce(text);
    return true;
  } catch (error) {
    update({ geometry: null });
    showPreview('');
    showFormError({ ...(error.problem || {}), code: error.code, status: error.status, detail: error.detail || error.message, errors: error.errors, preview: () => parseUpload(file, name) });
    return false;
  }
}

async function startDrawing() {
  if (!state.map) return;
  clearFormError();
  showPreview(t('form.drawing'));
  ctx.announce(t('form.drawing'));
  const geometry = await state.map.draw('Polygon');
  if (!geometry) {
    showPreview(t('form.draw_cancelled'));
    return;
  }
  update({ geometry, crs: 'EPSG:4490' });
  $('pfc-crs').value = 'EPSG:4490';
  showProject(geometry, false);
  const area = geodesicAreaM2(geometry);
  const text = t('preview.drawn', { area: fmt(area), mu: fmt(toMu(area)) });
  showPreview(text);
  ctx.announce(text);
}

/** Take what the form shows into the state (a file's red line is in the state already). */
function readForm() {
  const type = document.querySelector('input[name="project_type"]:checked');
  update({
    crs: state.source === 'coordinates' || state.source === 'draw' ? $('pfc-crs').value : state.crs || $('pfc-crs').value,
    landUse: $('pfc-land-use').value,
    projectType: type ? type.value : 'urban',
  });
  if (state.source === 'coordinates') update({ geometry: $('pfc-coords').value.trim() || null });
}

function validateForm() {
  if (state.locked) return null;
  if (!state.geometry) return { field: 'pfc-source', message: t('form.need_geometry') };
  if (state.source === 'coordinates' && !state.crs) return { field: 'pfc-crs', message: t('form.need_crs') };
  if (!state.landUse) return { field: 'pfc-land-use', message: t('form.need_land_use') };
  return null;
}

// --- check and result ------------------------------------------------------------------------

async function runCheck(overrides = null) {
  clearFormError();
  if (!overrides) readForm();
  const invalid = overrides ? null : validateForm();
  if (invalid) {
    showFormError({ code: 'invalid_request', text: invalid.message });
    const target = $(invalid.field);
    if (target) ctx.focus(target.querySelector('input, select, textarea, button') || target);
    return null;
  }
  const body = overrides || checkBody(state);
  update({ submitted: true });
  setBusy(true, t('form.checking'));
  ctx.announce(t('form.checking'));
  try {
    const report = await ctx.api('compliance/check', { method: 'POST', body });
    update({ repair: false, submitted: false });
    showPreview('');
    await renderReport(report);
    return report;
  } catch (error) {
    showFormError({ code: error.code, status: error.status, detail: error.detail || error.message, errors: error.errors });
    if (!overrides) ctx.focus($('pfc-form-error'));
    throw error;
  } finally {
    setBusy(false);
  }
}

async function renderReport(report) {
  update({ report, selected: null });
  const verdictName = localized(report.verdict_name, ctx.locale);
  const banner = $('pfc-verdict');
  banner.dataset.status = report.verdict;
  $('pfc-verdict-icon').textContent = STATUS_ICONS[report.verdict] || '';
  $('pfc-verdict-title').textContent = t('verdict.title', { status: verdictName });
  $('pfc-verdict-summary').textContent = t('verdict.summary', {
    area: fmt(report.project_area_m2),
    mu: fmt(toMu(report.project_area_m2)),
    id: report.id,
    fp: report.signature.fingerprint,
  });
  renderItems(report);
  renderPrintMeta(report);
  $('pfc-detail').textContent = '';
  $('pfc-result').hidden = false;
  $('pfc-input').classList.toggle('pfc-collapsed', true);
  showProject(report.input.geometry);
  if (state.map) state.map.clearOverlay('pieces');
  const details = report.items.map((i) => t('verdict.item', { title: localized(i.title, ctx.locale), status: localized(i.status_name, ctx.locale) })).join('；');
  ctx.announce(t('verdict.announce', { status: verdictName, details }), { assertive: report.verdict === 'fail' });
  ctx.focus(banner);
  ctx.emit('result', resultPayload(report, location.href));
  snapshotMap();
}

function renderItems(report) {
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
    button.title = t('item.select', { title: localized(item.title, ctx.locale) });
    button.addEventListener('click', () => selectItem(item.rule));
    button.addEventListener('keydown', (event) => moveSelection(event, row));
    head.append(button);
    const status = el('td');
    status.append(statusBadge(item.status, item.status_name));
    const area = el('td', 'pfc-num', item.status === 'not_checked' ? '—' : fmt(item.overlap_area_m2));
    const mu = el('td', 'pfc-num', item.status === 'not_checked' ? '—' : fmt(toMu(item.overlap_area_m2)));
    const share = el('td', 'pfc-num', item.status === 'not_checked' ? '—' : percentText(ctx.locale, item.overlap_ratio));
    row.append(head, status, area, mu, share);
    row.addEventListener('click', (event) => {
      if (event.target === row || event.target.tagName === 'TD' || event.target.closest('td')) selectItem(item.rule);
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

function selectItem(rule, { emit = true } = {}) {
  const report = state.report;
  if (!report) throw Object.assign(new Error(t('command.no_result')), { code: 'no_result' });
  const item = report.items.find((i) => i.rule === rule);
  if (!item) throw Object.assign(new Error(t('command.unknown_rule', { rule })), { code: 'unknown_rule' });
  update({ selected: rule });
  for (const row of document.querySelectorAll('#pfc-items-body tr[data-rule]')) {
    const on = row.dataset.rule === rule;
    row.classList.toggle('pfc-selected', on);
    row.querySelector('button').setAttribute('aria-pressed', on ? 'true' : 'false');
  }
  renderDetail(item);
  if (state.map) {
    const overlay = itemOverlay(item);
    if (overlay.features.length) {
      state.map.setOverlay('pieces', overlay, 'overlap');
      state.map.fitTo('pieces', { maxZoom: 18 });
    } else {
      state.map.clearOverlay('pieces');
      state.map.fitTo('project');
    }
  }
  if (emit) ctx.emit('item-selected', { rule: item.rule, status: item.status, overlap_area_m2: item.overlap_area_m2, feature_count: item.feature_count });
  return item;
}

function renderDetail(item) {
  const box = $('pfc-detail');
  box.textContent = '';
  box.append(el('h3', null, t('detail.heading', { title: localized(item.title, ctx.locale), status: localized(item.status_name, ctx.locale) })));
  box.append(el('p', null, localized(item.reason, ctx.locale)));
  const details = item.details || {};
  if (details.classes && details.classes.length) {
    box.append(el('h4', null, t('detail.classes')));
    const list = el('ul', 'pfc-classes');
    for (const c of details.classes) {
      const li = el('li');
      li.append(statusBadge(c.allowed ? 'pass' : 'fail', { [ctx.locale]: t(c.allowed ? 'detail.allowed' : 'detail.not_allowed') }));
      li.append(document.createTextNode(` ${c.code} ${localized(c.name, ctx.locale)} — ${fmt(c.area_m2)} m²`));
      list.append(li);
    }
    box.append(list);
  }
  for (const key of ['by_class', 'by_type', 'by_zone']) {
    if (!details[key] || !details[key].length) continue;
    const list = el('ul', 'pfc-classes');
    for (const c of details[key]) {
      const li = el('li');
      if (c.status) li.append(statusBadge(c.status, { [ctx.locale]: c.status }), document.createTextNode(' '));
      const level = c.level ? ` (${c.level})` : '';
      li.append(document.createTextNode(`${localized(c.name, ctx.locale)}${level} — ${fmt(c.area_m2)} m²`));
      list.append(li);
    }
    box.append(list);
  }
  if (details.outside_area_m2) box.append(el('p', null, t('detail.outside', { area: fmt(details.outside_area_m2) })));
  if (!item.features.length) {
    if (item.status !== 'not_checked') box.append(el('p', null, t('detail.none')));
    return;
  }
  box.append(el('h4', null, t('detail.features', { shown: item.features.length, total: item.counted_feature_count ?? item.feature_count })));
  if (item.features_truncated) box.append(el('p', null, t('detail.truncated', { shown: item.features.length })));
  const headers = ['detail.layer', 'detail.fid', 'detail.attributes', 'detail.area', 'detail.counted'].map((key) => (key === 'detail.area' ? [t(key), 'pfc-num'] : t(key)));
  const rows = item.features.slice(0, 50).map((f) => {
    const row = el('tr');
    const attrs = Object.entries(f.attributes || {})
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    row.append(el('td', null, f.layer), el('td', null, String(f.fid)), el('td', null, attrs), el('td', 'pfc-num', fmt(f.overlap_area_m2)), el('td', null, t(f.counted ? 'detail.yes' : 'detail.no')));
    row.tabIndex = 0;
    row.addEventListener('click', () => state.map && state.map.highlight('pieces', `${f.layer}:${f.fid}`, { zoom: true }));
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && state.map) state.map.highlight('pieces', `${f.layer}:${f.fid}`, { zoom: true });
    });
    return row;
  });
  box.append(table(null, headers, rows, 'pfc-features'));
}

function renderPrintMeta(report) {
  const meta = $('pfc-print-meta');
  meta.textContent = '';
  const by = report.checked_by || {};
  const rows = [
    ['print.report', report.id],
    ['print.created', new Date(report.created_at).toLocaleString(ctx.locale)],
    ['print.project', report.project ? `${report.project.name} (${report.project.id})` : '—'],
    ['print.land_use', landUseName(report.land_use)],
    ['print.type', t(`type.${report.project_type}`)],
    ['print.area', `${fmt(report.project_area_m2)} m² (${fmt(toMu(report.project_area_m2))} ${ctx.locale === 'en' ? 'mu' : '亩'})`],
    ['print.crs', `${report.input.crs}`],
    ['print.ruleset', `${report.ruleset.id} v${report.ruleset.version}`],
    ['print.by', [by.name, by.dept, by.user].filter(Boolean).join(' · ') || by.app || '—'],
  ];
  describe(meta, rows.map(([key, value]) => [t(key), value]));
  $('pfc-print-signature').textContent = t('print.signature', {
    kid: report.signature.kid,
    jwks: new URL(report.signature.jwks_url, location.href).href,
    fp: report.signature.fingerprint,
  });
}

/** Keep a still image of the map for print (the live canvas is hidden in print). */
async function snapshotMap() {
  if (!state.map) return;
  const image = await state.map.toImage();
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

async function download(ext) {
  const report = state.report;
  if (!report) return;
  try {
    const response = await ctx.api(`compliance/reports/${encodeURIComponent(report.id)}/items.${ext}`, { raw: true, query: { locale: ctx.locale } });
    saveBlob(await response.blob(), `${report.id}.${ext}`);
  } catch (error) {
    ctx.showStatus(t('export.failed', { message: error.detail || error.message }), 'error');
  }
}

async function printReport() {
  await snapshotMap();
  window.print();
}

// --- locked project ---------------------------------------------------------------------------

function projectTypeRadios() {
  return [...document.querySelectorAll('input[name="project_type"]')];
}

async function loadLockedProject(id) {
  update({ locked: true });
  $('pfc-form').querySelector('#pfc-source').hidden = true;
  $('pfc-locked').hidden = false;
  $('pfc-locked-text').before(lockIcon());
  $('pfc-locked-text').textContent = t('locked.loading', { id });
  const project = await ctx.api(`projects/${encodeURIComponent(id)}`);
  update({ project });
  $('pfc-locked-text').textContent = t('locked.text', { name: project.name, id: project.id, land_use: project.land_use, area: fmt(project.area_m2) });
  $('pfc-land-use').value = project.land_use;
  markLocked($('pfc-land-use'));
  for (const radio of projectTypeRadios()) radio.checked = radio.value === project.project_type;
  markLocked(projectTypeRadios(), $('pfc-types'));
  showProject(project.geometry);
}

/** The parameters the host locked in the token: shown, and not to be changed. */
function applyLockedParams() {
  const locked = ctx.lockedParams || {};
  if (locked.land_use) markLocked($('pfc-land-use'));
  if (locked.project_type) markLocked(projectTypeRadios(), $('pfc-types'));
  if (locked.crs) markLocked($('pfc-crs'));
}

// --- start --------------------------------------------------------------------------------------

async function setUpMap() {
  const { map } = await startMap($('pfc-map'), { layers: (catalogue) => layersOfKinds(catalogue, CONTEXT_KINDS), identify: true });
  update({ map });
}

widget.start({
  async init() {
    const params = ctx.params || {};
    update({ ruleset: params.ruleset || null });
    buildCrsSelect(params.crs || '');
    await buildLandUseSelect(params.land_use || '');
    if (params.project_type) {
      for (const radio of projectTypeRadios()) radio.checked = radio.value === params.project_type;
    }
    await setUpMap();
    applyLockedParams();

    for (const radio of document.querySelectorAll('input[name="source"]')) radio.addEventListener('change', () => selectSource(radio.value));
    $('pfc-file').addEventListener('change', (event) => {
      const file = event.target.files && event.target.files[0];
      update({ repair: false });
      if (file) parseUpload(file, file.name);
    });
    $('pfc-coords').addEventListener('change', () => {
      const text = $('pfc-coords').value.trim();
      update({ repair: false, geometry: text || null });
      if (text && $('pfc-crs').value) parseUpload(new Blob([text], { type: 'text/plain' }), 'coordinates.txt');
    });
    $('pfc-crs').addEventListener('change', () => update({ crs: $('pfc-crs').value }));
    $('pfc-draw').addEventListener('click', () => startDrawing());
    $('pfc-form').addEventListener('submit', (event) => {
      event.preventDefault();
      runCheck().catch(() => {});
    });
    $('pfc-again').addEventListener('click', () => {
      $('pfc-input').classList.remove('pfc-collapsed');
      ctx.focus($('pfc-input-heading'));
    });
    $('pfc-print').addEventListener('click', () => printReport());
    $('pfc-csv').addEventListener('click', () => download('csv'));
    $('pfc-xlsx').addEventListener('click', () => download('xlsx'));
    window.addEventListener('beforeprint', () => {
      const img = $('pfc-print-map');
      if (img && !img.getAttribute('src') && state.map) snapshotMap();
    });

    const lockedProject = (ctx.lockedParams || {}).project || null;
    if (lockedProject) {
      await loadLockedProject(lockedProject);
      // Checked after `ready` (the runtime sends `result` after it in any case).
      if (params.auto_check !== false) runCheck().catch(() => {});
    }
  },
  commands: {
    async check(payload) {
      const p = payload || {};
      if (state.locked && p.geometry !== undefined && p.geometry !== null) throw Object.assign(new Error(t('command.locked')), { code: 'forbidden' });
      readForm();
      if (!state.locked) {
        // What the host sends replaces what the form holds; what it leaves out stays.
        const given = { geometry: p.geometry, crs: p.crs, landUse: p.land_use, projectType: p.project_type, ruleset: p.ruleset };
        update(Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)));
      }
      update({ repair: Boolean(p.repair) });
      try {
        const report = await runCheck(checkBody(state));
        return { report_id: report.id, verdict: report.verdict };
      } catch (error) {
        throw Object.assign(new Error(error.detail || error.message), { code: error.code || 'check_failed' });
      }
    },
    highlight(payload) {
      const item = selectItem((payload || {}).rule);
      const row = document.querySelector(`#pfc-items-body tr[data-rule="${item.rule}"]`);
      if (row) row.scrollIntoView({ block: 'nearest' });
      return { rule: item.rule, status: item.status };
    },
  },
});
