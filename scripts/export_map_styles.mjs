// Export the map widget's layer styles (widgets/common/map-model.js) as JSON for the
// server-side renderer (WMS GetMap, planfuse.services.maps.styles), so a WMS map and the map widget
// draw every class alike:
//
//   node_modules/.bin/esbuild scripts/export_map_styles.mjs --bundle --platform=node \
//     --format=esm --log-level=error | node --input-type=module > server/services/maps/map_styles.json
//
// tests/unit/ows/test_map_styles.py runs this and fails when the committed file differs.
import { KIND_ORDER, legendItems, styleSpec } from '../widgets/common/map-model.js';

// Which attribute picks a kind's class and how (map-model.js `featureClass`).
const MATCH = {
  land_use_plan: { attr: 'code', prefix: [2] },
  land_use_status: { attr: 'code', prefix: [2] },
  urban_plan: { attr: 'code', prefix: [1] },
  land_plan: { attr: 'code', prefix: [2] },
  urban_boundary: { attr: 'zone', pad: 2 },
  control_line: { attr: 'type' },
  sensitive_zone: { attr: 'type', strong: 'level' },
  road: { attr: 'class', fallback: 'other' },
  facility: { attr: 'type', fallback: 'other' },
};

const strip = ({ key, ...spec }) => spec;
const kinds = {};
for (const kind of [...KIND_ORDER, 'other']) {
  const match = MATCH[kind] || null;
  const entry = { match, classes: [], fallback: strip(styleSpec(kind, {})) };
  if (match) {
    for (const item of legendItems(kind, 'zh-CN')) {
      const en = legendItems(kind, 'en').find((e) => e.key === item.key);
      const cls = { code: item.code, 'zh-CN': item.label, en: en.label, style: strip(item.swatch) };
      if (match.strong) cls.strong = strip(styleSpec(kind, { [match.attr]: item.code, level: 'high' }));
      entry.classes.push(cls);
    }
    if (match.strong) entry.fallback_strong = strip(styleSpec(kind, { level: 'high' }));
  } else {
    const [item] = legendItems(kind, 'zh-CN');
    const [en] = legendItems(kind, 'en');
    entry.title = { 'zh-CN': item.label, en: en.label };
  }
  kinds[kind] = entry;
}
process.stdout.write(JSON.stringify({ order: KIND_ORDER, kinds }, null, 1) + '\n');
