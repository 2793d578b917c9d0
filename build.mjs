// Builds the front end into static/build/ (git-ignored):
//   static/build/embed.js              the host-side SDK (IIFE, global `PlanFuse`), ≤ 6 KB gzipped
//   static/build/widgets/<name>.js     one bundle per widgets/<name>/widget.js (+ .css when it imports CSS)
//   static/build/admin.js              the admin console's embed page (+ admin.css, every page)
//   static/build/admin-layers.js       the admin console's layer page (+ admin-layers.css)
//   static/build/admin-layer-versions.js  the page of one layer's versions ("make current")
//   static/build/admin-services.js     the admin console's service page (+ admin-services.css)
//   static/build/admin-catalogue.js    the admin console's service catalogue (+ admin-catalogue.css)
//   static/build/admin-apps.js         the admin console's host-app page (+ admin-apps.css)
//   static/build/admin-chains.js       the admin console's chain editor (+ admin-chains.css)
// `node build.mjs --test-widgets` builds tests/fixtures/widgets/*/widget.js into
// tests/fixtures/build/widgets/ instead (widgets that exist only for the test suite).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = dirname(fileURLToPath(import.meta.url));
/** The SDK's size budget (issue 4): zoid is 28.6 KB and post-robot 11.8 KB gzipped. */
const EMBED_MAX_GZIP_BYTES = 6 * 1024;
const TARGET = ['chrome100', 'firefox100', 'safari15', 'edge100'];

const testOnly = process.argv.includes('--test-widgets');
const watch = process.argv.includes('--watch');

function widgetEntries(dir) {
  if (!existsSync(dir)) return {};
  const entries = {};
  for (const name of readdirSync(dir).sort()) {
    const entry = join(dir, name, 'widget.js');
    if (name !== 'common' && existsSync(entry)) entries[name] = entry;
  }
  return entries;
}

const common = {
  bundle: true,
  minify: !watch,
  sourcemap: watch ? 'inline' : false,
  target: TARGET,
  legalComments: 'none',
  logLevel: 'warning',
  loader: { '.svg': 'file', '.png': 'file', '.woff2': 'file' },
};

// Bundles replace the old ones file by file (write, then rename), and only then are stale
// files removed: a server reading static/build/ while a build runs (the browser tests build
// in one test process while another serves pages) never finds a bundle missing or half
// written.
async function buildWidgets(srcDir, outDir) {
  const entryPoints = widgetEntries(srcDir);
  if (Object.keys(entryPoints).length === 0) {
    rmSync(outDir, { recursive: true, force: true });
    return [];
  }
  // ES modules split into chunks: code several widgets share, and the map (OpenLayers, most
  // of a widget's bytes) loaded by `import()` when a widget starts its map — after `ready`
  // where the map can wait. Chunk names carry their content's hash.
  const result = await esbuild.build({
    ...common,
    entryPoints,
    outdir: outDir,
    format: 'esm',
    splitting: true,
    chunkNames: 'chunk-[hash]',
    assetNames: 'assets/[name]-[hash]',
    write: false,
  });
  const written = new Set();
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
    written.add(file.path);
  }
  for (const name of readdirSync(outDir)) {
    const path = join(outDir, name);
    if (statSync(path).isFile() && !written.has(path) && !name.endsWith('.tmp')) rmSync(path, { force: true });
  }
  return Object.keys(entryPoints);
}

const kb = (n) => `${(n / 1024).toFixed(2)} KB`;

if (testOnly) {
  const names = await buildWidgets(join(ROOT, 'tests/fixtures/widgets'), join(ROOT, 'tests/fixtures/build/widgets'));
  console.log(`test widgets: ${names.join(', ') || '(none)'}`);
} else {
  const out = join(ROOT, 'static/build');
  await esbuild.build({
    ...common,
    entryPoints: [join(ROOT, 'embed-sdk/src/index.js')],
    outfile: join(out, 'embed.js'),
    format: 'iife',
    globalName: 'PlanFuse',
  });
  await esbuild.build({
    ...common,
    entryPoints: [join(ROOT, 'server/admin/assets/console.js')],
    outfile: join(out, 'admin.js'),
    format: 'iife',
  });
  await esbuild.build({
    ...common,
    entryPoints: [join(ROOT, 'server/admin/assets/services.js')],
    outfile: join(out, 'admin-services.js'),
    format: 'iife',
  });
  await esbuild.build({
    ...common,
    entryPoints: [join(ROOT, 'server/admin/assets/catalogue.js')],
    outfile: join(out, 'admin-catalogue.js'),
    format: 'iife',
  });
  await esbuild.build({
    ...common,
    entryPoints: [join(ROOT, 'server/admin/assets/chains.js')],
    outfile: join(out, 'admin-chains.js'),
    format: 'iife',
  });
  await esbuild.build({
    ...common,
    entryPoints: [join(ROOT, 'server/admin/assets/layers.js')],
    outfile: join(out, 'admin-layers.js'),
    format: 'iife',
  });
  await esbuild.build({
    ...common,
    entryPoints: [join(ROOT, 'server/admin/assets/layer-versions.js')],
    outfile: join(out, 'admin-layer-versions.js'),
    format: 'iife',
  });
  await esbuild.build({
    ...common,
    entryPoints: [join(ROOT, 'server/admin/assets/apps.js')],
    outfile: join(out, 'admin-apps.js'),
    format: 'iife',
  });
  const names = await buildWidgets(join(ROOT, 'widgets'), join(out, 'widgets'));
  const raw = readFileSync(join(out, 'embed.js'));
  const gz = gzipSync(raw, { level: 9 }).length;
  console.log(`embed.js: ${kb(raw.length)} minified, ${kb(gz)} gzipped (budget ${kb(EMBED_MAX_GZIP_BYTES)})`);
  console.log(`widgets: ${names.join(', ') || '(none yet)'}`);
  // Each widget's own module and CSS; then the chunks the widgets share (the runtime, and
  // the map with OpenLayers, which a widget loads when it starts its map).
  const sizes = (file) => {
    const bytes = readFileSync(file);
    return `${kb(bytes.length)} minified, ${kb(gzipSync(bytes, { level: 9 }).length)} gzipped`;
  };
  for (const name of names) {
    for (const ext of ['.js', '.css']) {
      const file = join(out, 'widgets', name + ext);
      if (existsSync(file)) console.log(`  ${name}${ext}: ${sizes(file)}`);
    }
  }
  for (const name of readdirSync(join(out, 'widgets')).filter((n) => /^chunk-.*\.js$/.test(n)).sort()) {
    console.log(`  ${name} (shared): ${sizes(join(out, 'widgets', name))}`);
  }
  if (gz > EMBED_MAX_GZIP_BYTES) {
    console.error(`embed.js is ${gz} bytes gzipped, over the ${EMBED_MAX_GZIP_BYTES}-byte budget`);
    process.exit(1);
  }
}
