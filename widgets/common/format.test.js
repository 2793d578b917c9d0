import { describe, expect, it } from 'vitest';
import { M2_PER_HA, M2_PER_MU, formatNumber, localized, m2Text, mText, numberFormat, percentText, toHa, toMu } from './format.js';

describe('units', () => {
  it('converts m² to 亩 and hectares', () => {
    expect(M2_PER_MU).toBeCloseTo(666.6667, 4);
    expect(toMu(10000)).toBeCloseTo(15, 12);
    expect(M2_PER_HA).toBe(10000);
    expect(toHa(12345.67)).toBeCloseTo(1.234567, 12);
  });
});

describe('texts', () => {
  it('formats numbers, areas, lengths and shares the locale way', () => {
    expect(formatNumber('en', 12345.678, 2)).toBe('12,345.68');
    expect(m2Text('zh-CN', 12345.678)).toBe('12,345.68 m²');
    expect(mText('en', 1250)).toBe('1,250.00 m');
    expect(mText('en', 1250, 0)).toBe('1,250 m');
    expect(percentText('en', 0.1234)).toBe('12.34%');
    expect(percentText('zh-CN', 1)).toBe('100.00%');
    expect(percentText('en', 0.5, 0)).toBe('50%');
  });

  it('builds each number format once per locale and options', () => {
    const twoDigits = { minimumFractionDigits: 2, maximumFractionDigits: 2 };
    expect(numberFormat('en', twoDigits)).toBe(numberFormat('en', { ...twoDigits }));
    expect(numberFormat('zh-CN', twoDigits)).not.toBe(numberFormat('en', twoDigits));
    expect(numberFormat('en', { maximumFractionDigits: 0 })).not.toBe(numberFormat('en', twoDigits));
    expect(numberFormat('en', { maximumFractionDigits: 0 }).format(1234.5)).toBe('1,235');
  });

  it('picks the localised text with zh-CN, then en, as the fallback', () => {
    expect(localized({ 'zh-CN': '通过', en: 'Pass' }, 'en')).toBe('Pass');
    expect(localized({ 'zh-CN': '通过' }, 'en')).toBe('通过');
    expect(localized({ en: 'Pass' }, 'zh-CN')).toBe('Pass');
    expect(localized('text', 'en')).toBe('text');
    expect(localized(null, 'en')).toBe('');
    expect(localized(undefined, 'en')).toBe('');
  });
});
