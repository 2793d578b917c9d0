// What every PlanFuse widget is built from, in one place: `$` and `el` for the DOM, `t` for
// its texts (zh-CN first, then English), one state object changed only through `update`, the
// lock shown beside parameters the host locked, problems (RFC 9457) shown to the user in
// their language, and the start every widget makes: the layer catalogue, then the shared map.
//
//   import { $, el, createWidget } from '../common/widget-base.js';
//   import { errors } from './manifest.json';
//   import { messages } from './messages.js';
//
//   const widget = createWidget({ name: 'siting', messages, errors, state: { result: null } });
//   const { ctx, state, update, t } = widget;
//   widget.start({ async init() { ... }, commands: { ... } });
//
// The runtime (runtime.js) below it does the handshake, the session and the API calls.
import { invalidPayload, positiveInteger } from './commands.js';
import { $, clearInvalid, el } from './dom.js';
import { localized } from './format.js';
import { pickLocale, translator } from './i18n.js';
import { lockIcon } from './icons.js';
// The map's styles ride in every widget's own CSS: a chunk loaded by import() brings no CSS.
import 'ol/ol.css';
import './map.css';
import { BASE_MESSAGES } from './messages.js';
import { readConfig, startWidget } from './runtime.js';

export { $, el };

/** At most this many of a problem's field errors are listed (the first ones). */
const MAX_PROBLEM_DETAILS = 5;

let mapCode = null;

/** The map's code (map.js and OpenLayers, most of a widget's bytes), loaded once, when a
 *  widget first asks for it: `startMap` does; a widget whose map must be there at `ready`
 *  may ask at its start, so the code arrives while its first answers do. */
export function loadMapCode() {
  mapCode ||= import('./map.js');
  return mapCode;
}

// --- state ------------------------------------------------------------------------------------

/**
 * A widget's state: one object whose keys are all declared in `initial`, read as
 * `state.key` and changed only by `update({key: value})` (or `update((state) => changes)`).
 * Assigning to `state.key`, or updating a key that was never declared, throws: every change
 * goes through `update`, where `watch` sees it. Values are replaced, not edited in place
 * (update({districts: new Set(...)}), not state.districts.add(...)).
 *
 * `update` returns the keys whose value changed (`!==`); `watch(keys, fn)` calls fn(changed)
 * after an update that changed any of `keys` and returns a function that stops watching.
 */
export function createState(initial = {}) {
  const values = { ...initial };
  const watchers = new Set();
  const refuse = (key) => {
    throw new TypeError(`state.${String(key)} changes only through update({ ${String(key)}: … })`);
  };
  const state = new Proxy(values, {
    set: (_, key) => refuse(key),
    deleteProperty: (_, key) => refuse(key),
    defineProperty: (_, key) => refuse(key),
  });

  function update(changes) {
    const patch = typeof changes === 'function' ? changes(state) : changes;
    const changed = [];
    for (const [key, value] of Object.entries(patch || {})) {
      if (!Object.hasOwn(values, key)) throw new TypeError(`state has no key ${key}; declare it in the initial state`);
      if (values[key] !== value) {
        values[key] = value;
        changed.push(key);
      }
    }
    if (changed.length) {
      for (const watcher of [...watchers]) if (watcher.keys.some((key) => changed.includes(key))) watcher.fn(changed);
    }
    return changed;
  }

  function watch(keys, fn) {
    const watcher = { keys: [].concat(keys), fn };
    watchers.add(watcher);
    return () => watchers.delete(watcher);
  }

  return { state, update, watch };
}

// --- problems ---------------------------------------------------------------------------------

/** Errors the runtime has already reported to the user and the host (see runtime.js `api`). */
export function reportedByRuntime(error) {
  return error.status === 401 || error.status === 403 || error.code === 'network';
}

/**
 * What the user reads for a problem (an ApiError, an RFC 9457 body, or {text} the widget wrote
 * itself): `summary` in their language, chosen by the problem's stable code — the widget's
 * `problem.<code>` text, its manifest's error text (`errors`), the protocol's, else a generic
 * one by status — and `details`, the server's specifics (its field errors, else its
 * `detail`), which may be in English: the server's JSON stays as it is.
 */
export function problemMessage(problem, { t, locale, errors = {} }) {
  if (problem.text) return { summary: problem.text, details: [] };
  const code = problem.code;
  let summary;
  if (code && t.has(`problem.${code}`)) summary = t(`problem.${code}`);
  else if (code && errors[code]) summary = localized(errors[code], locale);
  else if (code && t.has(`error.${code}`)) summary = t(`error.${code}`);
  else summary = t(problem.status >= 500 ? 'problem.server' : 'problem.unknown', { status: problem.status || '—' });
  // An entry that offers a fix (`repairable`) is an action, not a detail.
  const listed = (problem.errors || [])
    .filter((e) => e.message && !e.repairable)
    .slice(0, MAX_PROBLEM_DETAILS)
    .map((e) => (e.where || e.field ? t('problem.field', { field: e.where || e.field, message: e.message }) : e.message));
  const detail = problem.detail || (problem instanceof Error ? problem.message : '');
  const details = listed.length ? listed : detail && detail !== summary ? [detail] : [];
  return { summary, details };
}

/** A problem message as nodes: the summary, then its one detail or a list of them. */
function problemNodes({ summary, details }) {
  if (details.length > 1) {
    const list = el('ul', 'pf-problem-details');
    for (const detail of details) list.append(el('li', null, detail));
    return [summary, list];
  }
  return details.length ? [`${summary} ${details[0]}`] : [summary];
}

/** The message as one line of text (for announcements and the host's `error` event). */
function problemText({ summary, details }) {
  return [summary, ...details].join(' ');
}

// --- the widget -------------------------------------------------------------------------------

/** The widget's messages over the shared ones, per locale. */
function withBaseMessages(messages) {
  const locales = new Set([...Object.keys(BASE_MESSAGES), ...Object.keys(messages)]);
  return Object.fromEntries([...locales].map((l) => [l, { ...BASE_MESSAGES[l], ...messages[l] }]));
}

/**
 * A widget: its texts, its state and the shared pieces of every widget. Nothing runs until
 * `widget.start(...)`.
 *
 * options:
 *   name      the widget's name (as registered on the server)
 *   messages  {'zh-CN': {...}, en: {...}}: the widget's texts (its messages.js)
 *   errors    the `errors` table of its manifest.json: the localised text of each code
 *   state     the initial state, every key the widget keeps (see createState)
 *
 * widget: ctx (the runtime's context once started: api, emit, announce, showStatus, params,
 * lockedParams, locale, ...), state, update, watch, t, lockedLabel, lockedNote, markLocked,
 * showProblem, startMap, invalidPayload, positiveInteger, start.
 */
export function createWidget({ name, messages = {}, errors = {}, state: initial = {} } = {}) {
  const allMessages = withBaseMessages(messages);
  const locale = pickLocale(readConfig().locale);
  const t = translator(locale, allMessages);
  const { state, update, watch } = createState(initial);
  let runtime = null;
  // The runtime's context, usable once the widget has started (in init, commands and what
  // they call); before that, using it is a bug and says so.
  const ctx = new Proxy(
    {},
    {
      get(_, key) {
        if (!runtime) throw new Error(`${name}: ctx.${String(key)} used before the widget started`);
        return runtime[key];
      },
      set(_, key) {
        throw new TypeError(`ctx.${String(key)} is the runtime's; keep widget data in state`);
      },
    },
  );

  /** The lock shown beside a parameter the host locked in the token: icon and words. */
  function lockedLabel(text = t('lock.label')) {
    const label = el('span', 'pf-lock');
    label.append(lockIcon(), el('span', 'pf-lock-text', text));
    return label;
  }

  /** A paragraph saying what the host locked (e.g. the districts a search stays in). */
  function lockedNote(text) {
    const note = el('p', 'pf-lock');
    note.append(lockIcon(), el('span', 'pf-lock-text', text));
    return note;
  }

  /** Disable `controls` (one or a list) and show the lock after `anchor` (once). */
  function markLocked(controls, anchor = [].concat(controls).at(-1)) {
    for (const control of [].concat(controls)) control.disabled = true;
    const next = anchor.nextElementSibling;
    if (!(next && next.classList.contains('pf-lock'))) anchor.after(lockedLabel());
  }

  /**
   * Show a problem to the user in their language and tell the host (`error` event): in the
   * widget's status line, or in `into` (an element of a form). `fields` maps a problem's
   * field names (or their first dotted part) to input ids, which are marked aria-invalid.
   * Problems the runtime reported already (401, 403, no network) only mark their fields.
   * Returns the message ({summary, details}).
   */
  function showProblem(problem, { fields = {}, into = null, code = 'request_failed' } = {}) {
    clearInvalid(into ? into.closest('form') || document : document);
    for (const e of problem.errors || []) {
      const id = e.field && (fields[e.field] || fields[e.field.split('.')[0]]);
      const input = id && $(id);
      if (input) input.setAttribute('aria-invalid', 'true');
    }
    const message = problemMessage(problem, { t, locale, errors });
    if (reportedByRuntime(problem)) return message;
    const text = problemText(message);
    if (into) {
      into.replaceChildren(...problemNodes(message));
      into.hidden = false;
    } else {
      ctx.showStatus(problemNodes(message), 'error');
      ctx.announce(text, { assertive: true });
    }
    ctx.emit('error', { code: problem.code || code, message: text, status: problem.status });
    return message;
  }

  /**
   * The start every widget makes: read the layer catalogue, then draw the shared map in
   * `element` with the layers `layers(catalogue)` returns (catalogue entries with `visible`;
   * or map options with `layers`), other map options as for createMap. A layer that fails
   * to load is reported to the host (`layer_unavailable`). Without the catalogue the map
   * still shows the widget's overlays and drawing, with a notice (and `layer_unavailable`).
   * Returns {map, catalogue}.
   */
  async function startMap(element, { layers: choose = (catalogue) => catalogue, ...options } = {}) {
    const code = loadMapCode(); // fetched and compiled while the catalogue is asked for
    let catalogue = [];
    let failure = null;
    try {
      catalogue = (await ctx.api('layers')).layers || [];
    } catch (error) {
      failure = error;
    }
    const { createWidgetMap } = await code;
    const chosen = choose(catalogue);
    const map = createWidgetMap(ctx, element, { ...options, ...(Array.isArray(chosen) ? { layers: chosen } : chosen) });
    map.on('error', (e) => ctx.emit('error', { code: 'layer_unavailable', message: e.message, layer: e.layer, status: e.status }));
    if (failure) {
      const text = t('map.failed', { message: failure.detail || failure.message });
      element.prepend(el('p', 'pf-map-notice', text));
      if (!reportedByRuntime(failure)) ctx.emit('error', { code: 'layer_unavailable', message: text, status: failure.status });
    }
    return { map, catalogue };
  }

  /**
   * Checking a host command's payload (see commands.js), with the message in the user's
   * language: `invalidPayload(key, vars)` is the error to throw, `positiveInteger(value,
   * name)` an id the host sent.
   */
  const commandInput = {
    invalidPayload: (key, vars) => invalidPayload(t(key, vars)),
    positiveInteger: (value, name = 'id') => positiveInteger(value, name, t('command.positive_integer', { name })),
  };

  /** Start the runtime: init(ctx) renders, commands answer the host (see runtime.js). */
  function start({ init, commands = {}, onSession } = {}) {
    return startWidget({
      name,
      messages: allMessages,
      init(runtimeCtx) {
        runtime = runtimeCtx;
        return init ? init(ctx) : undefined;
      },
      commands,
      onSession(runtimeCtx) {
        runtime = runtimeCtx;
        if (onSession) onSession(ctx);
      },
    });
  }

  return { name, ctx, state, update, watch, t, locale, lockedLabel, lockedNote, markLocked, showProblem, startMap, ...commandInput, start };
}

/** The catalogue entries whose kind `kinds` lists ({kind: shown at first}), with `visible` set. */
export function layersOfKinds(catalogue, kinds) {
  return catalogue.filter((layer) => Object.hasOwn(kinds, layer.kind)).map((layer) => ({ ...layer, visible: Boolean(kinds[layer.kind]) }));
}
