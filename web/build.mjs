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
  outdir: path.join(out, 'assets'),
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const names = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint) names[path.extname(file)] = path.basename(file);
}

const icon = fs.readFileSync(path.join(here, 'src/icon.svg'));
const { createHash } = await import('node:crypto');
const iconName = `icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
fs.writeFileSync(path.join(out, 'assets', iconName), icon);

const html = fs
  .readFileSync(path.join(here, 'src/index.html'), 'utf8')
  .replaceAll('%APP_JS%', `/assets/${names['.js']}`)
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
const shell = ['/', '/manifest.webmanifest', `/assets/${names['.js']}`, `/assets/${names['.css']}`, `/assets/${iconName}`];
const version = createHash('sha256').update(shell.join('\n')).update(html).digest('hex').slice(0, 12);
const worker = fs
  .readFileSync(path.join(here, 'src/sw.js'), 'utf8')
  .replace("'%SHELL%'", JSON.stringify(shell))
  .replace('%VERSION%', version);
fs.writeFileSync(path.join(out, 'sw.js'), worker);
fs.writeFileSync(path.join(out, '.stamp'), '');

const size = (n) => fs.statSync(path.join(out, 'assets', n)).size;
console.error(`web: ${names['.js']} ${size(names['.js'])} B, ${names['.css']} ${size(names['.css'])} B`);
