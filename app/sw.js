// Service worker: after one visit the page and the models it opened work offline.
// One cache per build (`hybrid-<build>`, the build id comes from the registration URL:
// sw.js?build=<hashed wasm name>); older builds' caches are deleted when it activates.
// The page itself (navigations) is fetched network first, so an online visit always
// gets the newest build; everything else (hashed wasm and js, css, models, configs)
// cache first, stored on first use.

const BUILD = new URL(self.location.href).searchParams.get("build") || "dev";
const CACHE = `hybrid-${BUILD}`;

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("hybrid-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (e) {
    const hit = await cache.match(request, { ignoreSearch: true });
    if (hit) return hit;
    throw e;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.headers.has("range")) return;
  const page = request.mode === "navigate" || url.pathname.endsWith("/index.html");
  // the model list may change with the zoo: fresh when online, stored for offline
  const list = url.pathname.endsWith("/assets/models/index.json");
  event.respondWith(page || list ? networkFirst(request) : cacheFirst(request));
});
