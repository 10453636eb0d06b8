// The service worker: the app shell offline, nothing of any account.
// web/build.mjs fills in this build's files and version. The page
// (navigations to /) is fetched from the network first and the copy kept
// is used only when the network fails; the hashed assets never change and
// are served from the cache. API requests are never cached here: the
// lists a member saw last are kept by the page itself, in storage that
// belongs to one account and is erased at 退出.
const SHELL = '%SHELL%';
const CACHE = 'yijian-shell-%VERSION%';

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith('yijian-shell-') && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (req.mode === 'navigate' && url.pathname === '/') {
    ev.respondWith(
      fetch(req).then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put('/', copy));
        }
        return res;
      }).catch(() => caches.match('/')),
    );
    return;
  }
  if (url.pathname.startsWith('/assets/') || url.pathname === '/manifest.webmanifest') {
    ev.respondWith(caches.match(req).then((hit) => hit ?? fetch(req)));
  }
});
