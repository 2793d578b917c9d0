// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BOM, csvField, csvText, saveBlob, saveText } from './export.js';

describe('CSV', () => {
  it('quotes fields that need it (RFC 4180)', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(0)).toBe('0');
  });

  it('keeps formulas as text but numbers as numbers', () => {
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('+86 23')).toBe("'+86 23");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField('-12.5')).toBe('-12.5');
    expect(csvField(-3)).toBe('-3');
  });

  it('joins rows with CRLF, one after the last row too', () => {
    expect(csvText([['编号', '名称'], [1, '工业用地,一类']])).toBe('编号,名称\r\n1,"工业用地,一类"\r\n');
    expect(BOM).toBe('\ufeff');
  });
});

describe('saving files', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('clicks a download link for the blob, then frees its URL', () => {
    vi.useFakeTimers();
    URL.createObjectURL = vi.fn(() => 'blob:x');
    URL.revokeObjectURL = vi.fn();
    const clicked = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function click() {
      clicked.push([this.getAttribute('href'), this.download, this.isConnected]);
    });
    expect(saveBlob(new Blob(['x']), 'a.csv')).toBe('a.csv');
    expect(clicked).toEqual([['blob:x', 'a.csv', true]]);
    expect(document.querySelector('a')).toBeNull();
    expect(URL.revokeObjectURL).not.toHaveBeenCalled();
    vi.runAllTimers();
    expect(URL.revokeObjectURL).toHaveBeenCalledWith('blob:x');
  });

  it('saves text with its media type', () => {
    let blob = null;
    URL.createObjectURL = vi.fn((b) => {
      blob = b;
      return 'blob:y';
    });
    URL.revokeObjectURL = vi.fn();
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    saveText(`${BOM}a,b\r\n`, 'text/csv;charset=utf-8', 'b.csv');
    expect(blob.type).toBe('text/csv;charset=utf-8');
    expect(blob.size).toBe(3 + 5);
  });
});
