import { describe, expect, it } from 'vitest';
import { messages as approval } from '../approval/messages.js';
import { messages as compliance } from '../compliance/messages.js';
import { messages as conflicts } from '../conflicts/messages.js';
import { messages as map } from '../map/messages.js';
import { messages as siting } from '../siting/messages.js';
import { MAP_MESSAGES } from './map-model.js';
import { BASE_MESSAGES } from './messages.js';

const TABLES = { base: BASE_MESSAGES, map: MAP_MESSAGES, approval, compliance, conflicts, siting, 'map widget': map };

describe('the widgets\' texts', () => {
  it.each(Object.entries(TABLES))('%s has every text in zh-CN and English', (name, table) => {
    expect(Object.keys(table).sort()).toEqual(['en', 'zh-CN']);
    expect(Object.keys(table.en).sort()).toEqual(Object.keys(table['zh-CN']).sort());
    for (const [key, text] of Object.entries(table.en)) {
      // The same placeholders in both languages, so no value goes missing in one of them.
      const names = (t) => (t.match(/\{\w+\}/g) || []).sort();
      expect(names(text), `${name} ${key}`).toEqual(names(table['zh-CN'][key]));
    }
  });

  // Pictographs beyond the symbol blocks every CJK font carries (✔ ✖ ⚠ ★ are fine) draw
  // as empty boxes where no emoji font is installed: icons are SVG (icons.js) instead.
  const EMOJI = /[\u{1F000}-\u{1FAFF}]/u;

  it('finds an emoji', () => expect('🔒 已锁定').toMatch(EMOJI));

  it.each(Object.entries(TABLES))('%s draws no emoji', (name, table) => {
    for (const text of [...Object.values(table['zh-CN']), ...Object.values(table.en)]) expect(text).not.toMatch(EMOJI);
  });
});
