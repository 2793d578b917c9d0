// Numbers, areas and shares as the widgets show them, and texts by locale. Pure (no DOM),
// so every widget formats the same value the same way.
import { formatNumber, numberFormat } from './i18n.js';

export { formatNumber, numberFormat };

/** 1 亩 (mu) = 10000/15 m² (市制, 15 亩 to the hectare): reviewers think in mu. */
export const M2_PER_MU = 10000 / 15;
/** 1 ha = 10000 m² (ledgers report hectares). */
export const M2_PER_HA = 10000;

/** m² → 亩 (mu). */
export function toMu(m2) {
  return m2 / M2_PER_MU;
}

/** m² → ha. */
export function toHa(m2) {
  return m2 / M2_PER_HA;
}

/** An area in m², e.g. "12,345.67 m²". */
export function m2Text(locale, m2, digits = 2) {
  return `${formatNumber(locale, m2, digits)} m²`;
}

/** A length or distance in metres, e.g. "1,250.00 m". */
export function mText(locale, m, digits = 2) {
  return `${formatNumber(locale, m, digits)} m`;
}

/** A share (0–1) as a percentage the locale's way, e.g. 0.1234 → "12.34%". */
export function percentText(locale, ratio, digits = 2) {
  return numberFormat(locale, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(ratio);
}

/** The text of a {"zh-CN", en} object in `locale` (zh-CN, then en, as the fallback); a
 *  plain value is its own text. */
export function localized(texts, locale) {
  if (!texts || typeof texts !== 'object') return String(texts ?? '');
  return texts[locale] || texts['zh-CN'] || texts.en || '';
}
