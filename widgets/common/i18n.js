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
    'runtime.retry': '重试',
    'runtime.dismiss': '关闭',
    'runtime.timeout': '服务器未在规定时间内响应。',
  },
  en: {
    'runtime.loading': 'Loading…',
    'runtime.waiting_for_token': 'Waiting for the host system to provide a sign-in token…',
    'runtime.no_token': 'No sign-in token: embed with the PlanFuse SDK, or add #token=… to the iframe URL.',
    'runtime.retry': 'Retry',
    'runtime.dismiss': 'Dismiss',
    'runtime.timeout': 'The server did not answer in time.',
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
 * ({'zh-CN': {...}, en: {...}}): t(key, {name: value}) fills `{name}` placeholders; a key
 * missing in `locale` falls back to zh-CN, then to the key itself.
 */
export function translator(locale, messages = {}) {
  const chain = [messages[locale], CORE[locale], messages[DEFAULT_LOCALE], CORE[DEFAULT_LOCALE]];
  return function t(key, vars) {
    let text = key;
    for (const table of chain) {
      if (table && Object.hasOwn(table, key)) {
        text = table[key];
        break;
      }
    }
    return vars ? text.replace(/\{(\w+)\}/g, (m, name) => (Object.hasOwn(vars, name) ? String(vars[name]) : m)) : text;
  };
}

/** Numbers the locale's way (e.g. areas: 12,345.67). */
export function formatNumber(locale, value, digits = 2) {
  return new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}
