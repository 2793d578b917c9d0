// Widget-side translations: zh-CN is the default, en the other locale we ship.
import { default_locale, error_codes, locales } from '../../server/embed/protocol.json';

export const LOCALES = locales;
export const DEFAULT_LOCALE = default_locale;

/** The runtime's own messages; error texts come from the protocol manifest. */
const CORE = {
  'zh-CN': {
    'runtime.loading': '正在加载……',
    'runtime.waiting_for_token': '正在等待宿主系统提供登录凭证……',
    'runtime.no_token': '缺少登录凭证：请通过 PlanFuse SDK 嵌入，或在 iframe 地址的 # 后附上 token。',
    'runtime.host_origin_required': '无法确定嵌入此组件的页面来源：请在 iframe 地址中加上 host_origin=（页面的来源，如 https://portal.example.gov.cn）。',
    'runtime.retry': '重试',
    'runtime.dismiss': '关闭',
    'runtime.timeout': '服务器未在规定时间内响应。',
    'runtime.failed': '组件未能打开：{message}',
  },
  en: {
    'runtime.loading': 'Loading…',
    'runtime.waiting_for_token': 'Waiting for the host system to provide a sign-in token…',
    'runtime.no_token': 'No sign-in token: embed with the PlanFuse SDK, or add #token=… to the iframe URL.',
    'runtime.host_origin_required': 'The origin of the page embedding this widget is unknown: add host_origin= (the page\'s origin, e.g. https://portal.example.gov.cn) to the iframe URL.',
    'runtime.retry': 'Retry',
    'runtime.dismiss': 'Dismiss',
    'runtime.timeout': 'The server did not answer in time.',
    'runtime.failed': 'The widget could not open: {message}',
  },
};
for (const [code, text] of Object.entries(error_codes)) {
  for (const locale of locales) CORE[locale][`error.${code}`] = text[locale];
}

/** `requested` if we ship it, else the default locale. */
export function pickLocale(requested) {
  return locales.includes(requested) ? requested : DEFAULT_LOCALE;
}

/**
 * A translate function for `locale` over the core messages and a widget's `messages`
 * ({'zh-CN': {...}, en: {...}}): t(key, {name: value}) fills `{name}` placeholders. A key
 * missing in `locale` falls back to zh-CN (the product's first language), then to English,
 * then to the key itself; `t.has(key)` says whether any locale knows the key.
 */
export function translator(locale, messages = {}) {
  const chain = [...new Set([locale, DEFAULT_LOCALE, 'en'])].flatMap((l) => [messages[l], CORE[l]]).filter(Boolean);
  const find = (key) => chain.find((table) => Object.hasOwn(table, key));
  function t(key, vars) {
    const table = find(key);
    const text = table ? table[key] : key;
    return vars ? text.replace(/\{(\w+)\}/g, (m, name) => (Object.hasOwn(vars, name) ? String(vars[name]) : m)) : text;
  }
  t.has = (key) => Boolean(find(key));
  return t;
}

/** Intl.NumberFormat objects by locale and options: building one costs far more than
 *  formatting with it, and a table of a few hundred rows formats a few hundred numbers. */
const numberFormats = new Map();

/** The `Intl.NumberFormat` for `locale` and `options`, built once. */
export function numberFormat(locale, options) {
  const key = `${locale}|${JSON.stringify(options)}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, options);
    numberFormats.set(key, format);
  }
  return format;
}

/** Numbers the locale's way (e.g. areas: 12,345.67). */
export function formatNumber(locale, value, digits = 2) {
  return numberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}
