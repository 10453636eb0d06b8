// Bundles the web client into build/web/: one JavaScript and one CSS file
// whose names carry a hash of their content (cached for a year by the
// service), an icon, and index.html that names them (revalidated on every
// load). Everything the page needs comes from here: no CDN at run time.
// usage: node web/build.mjs [OUT_DIR]   (make does it before embedding)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, '../build/web'));

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('web/build.mjs: esbuild is missing: run `npm ci` in web/ (make setup does)');
  process.exit(1);
}

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'src/main.js'), style: path.join(here, 'src/style.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  entryNames: '[name]-[hash]',
  // The console and the elliptic-curve code are loaded when needed
  // (dynamic import): chunks of their own, named by their hash too.
  splitting: true,
  chunkNames: '[name]-[hash]',
  outdir: path.join(out, 'assets'),
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const names = {};
const outputs = result.metafile.outputs;
let entry = null;
for (const [file, meta] of Object.entries(outputs)) {
  const src = meta.entryPoint && path.resolve(meta.entryPoint);
  if (src === path.join(here, 'src/main.js')) entry = file;
  if (src === path.join(here, 'src/main.js') || src === path.join(here, 'src/style.css')) names[path.extname(file)] = path.basename(file);
}
// The chunks the entry imports statically are announced in the page
// (modulepreload), so that they load beside it rather than after it.
const preload = [];
const walk = (file) => {
  for (const i of outputs[file].imports) {
    if (i.kind !== 'import-statement' || preload.includes(i.path)) continue;
    preload.push(i.path);
    walk(i.path);
  }
};
walk(entry);

const icon = fs.readFileSync(path.join(here, 'src/icon.svg'));
const { createHash } = await import('node:crypto');
const iconName = `icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
fs.writeFileSync(path.join(out, 'assets', iconName), icon);

const html = fs
  .readFileSync(path.join(here, 'src/index.html'), 'utf8')
  .replaceAll('%APP_JS%', `/assets/${names['.js']}`)
  .replace('%PRELOAD%', preload.map((f) => `<link rel="modulepreload" href="/assets/${path.basename(f)}">`).join('\n'))
  .replaceAll('%APP_CSS%', `/assets/${names['.css']}`)
  .replaceAll('%ICON%', `/assets/${iconName}`);
fs.writeFileSync(path.join(out, 'index.html'), html);

// The installable app: a manifest, and a service worker (served at /sw.js,
// so that its scope is the whole client) that keeps the app shell, this
// build's page, script, style and icon, and nothing of any account: data
// the client keeps for offline use lives in its own storage, which belongs
// to one account and is erased at 退出 (web/src/device.js).
const manifest = {
  name: '意见箱',
  short_name: '意见箱',
  description: '党员意见的提交、办理和答复',
  lang: 'zh-CN',
  start_url: '/',
  scope: '/',
  display: 'standalone',
  background_color: '#f6f4f1',
  theme_color: '#a4161a',
  icons: [{ src: `/assets/${iconName}`, sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
};
fs.writeFileSync(path.join(out, 'manifest.webmanifest'), JSON.stringify(manifest));
// Every script file, the lazily loaded ones too: the console and the
// token code must work offline like the rest.
const scripts = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).map((f) => `/assets/${path.basename(f)}`).sort();
const shell = ['/', '/manifest.webmanifest', ...scripts, `/assets/${names['.css']}`, `/assets/${iconName}`];
const version = createHash('sha256').update(shell.join('\n')).update(html).digest('hex').slice(0, 12);
const worker = fs
  .readFileSync(path.join(here, 'src/sw.js'), 'utf8')
  .replace("'%SHELL%'", JSON.stringify(shell))
  .replace('%VERSION%', version);
fs.writeFileSync(path.join(out, 'sw.js'), worker);
fs.writeFileSync(path.join(out, '.stamp'), '');

const size = (n) => fs.statSync(path.join(out, 'assets', n)).size;
console.error(`web: ${names['.js']} ${size(names['.js'])} B, ${preload.map((f) => `${path.basename(f)} ${size(path.basename(f))} B`).join(', ')}, ${names['.css']} ${size(names['.css'])} B; loaded when needed: ${Object.keys(outputs).filter((f) => f.endsWith('.js') && f !== entry && !preload.includes(f)).map((f) => `${path.basename(f)} ${size(path.basename(f))} B`).join(', ')}`);
