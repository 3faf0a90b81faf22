// Browser-side helpers of the share bar (app/src/views/share.rs): copy the link, export a
// chart or heatmap as PNG or SVG, register the service worker (app/sw.js) and report what
// it stored. Kept in JavaScript because they are thin wrappers over browser APIs.

const SVG_NS = "http://www.w3.org/2000/svg";
// Styles that CSS gives the charts; copied inline so an exported SVG looks the same alone.
const STYLE_PROPS = ["fill", "stroke", "stroke-width", "stroke-dasharray", "opacity",
  "font-family", "font-size", "font-weight", "text-anchor", "dominant-baseline"];

function download(href, name) {
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function textUrl(text, mime) {
  return URL.createObjectURL(new Blob([text], { type: mime }));
}

// A standalone SVG document of an <svg> element (styles inlined) or of a <canvas>
// (its pixels as an embedded PNG image).
function svgText(el) {
  if (el instanceof HTMLCanvasElement) {
    const w = el.clientWidth || el.width, h = el.clientHeight || el.height;
    const label = (el.getAttribute("aria-label") || "heatmap").replace(/[<&"]/g, " ");
    return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="${SVG_NS}" ` +
      `width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><title>${label}</title>` +
      `<image width="${w}" height="${h}" href="${el.toDataURL("image/png")}"/></svg>\n`;
  }
  const copy = el.cloneNode(true);
  const src = [el, ...el.querySelectorAll("*")];
  const dst = [copy, ...copy.querySelectorAll("*")];
  src.forEach((s, i) => {
    const cs = getComputedStyle(s);
    const style = STYLE_PROPS.map((p) => `${p}:${cs.getPropertyValue(p)}`).join(";");
    dst[i].setAttribute("style", style);
  });
  const box = el.getBoundingClientRect();
  copy.setAttribute("xmlns", SVG_NS);
  copy.setAttribute("width", String(Math.round(box.width)));
  copy.setAttribute("height", String(Math.round(box.height)));
  const bg = getComputedStyle(document.body).backgroundColor;
  const rect = document.createElementNS(SVG_NS, "rect");
  rect.setAttribute("width", "100%");
  rect.setAttribute("height", "100%");
  rect.setAttribute("fill", bg);
  copy.insertBefore(rect, copy.firstChild);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}\n`;
}

// PNG bytes of the element as a data: URL (an <svg> is drawn through an image at 2x).
async function pngUrl(el) {
  if (el instanceof HTMLCanvasElement) return el.toDataURL("image/png");
  const text = svgText(el);
  const img = new Image();
  const url = textUrl(text, "image/svg+xml");
  try {
    await new Promise((ok, fail) => { img.onload = ok; img.onerror = () => fail(new Error("the chart could not be drawn as an image")); img.src = url; });
    const box = el.getBoundingClientRect();
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(box.width * 2));
    canvas.height = Math.max(1, Math.round(box.height * 2));
    canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/png");
  } finally {
    URL.revokeObjectURL(url);
  }
}

// The figures of the open view: every <svg> chart and heatmap <canvas> under `root`.
export function figures(rootSelector) {
  const root = document.querySelector(rootSelector);
  if (!root) return [];
  return [...root.querySelectorAll("canvas.heatmap, figure.chart svg, svg.chart")];
}

// Exports figure `index` of the open view as "png" or "svg"; resolves to the file name.
export async function exportFigure(rootSelector, index, format, baseName) {
  const el = figures(rootSelector)[index];
  if (!el) throw new Error(`no figure ${index + 1} in this view`);
  const name = `${baseName}.${format}`;
  if (format === "svg") {
    const url = textUrl(svgText(el), "image/svg+xml");
    download(url, name);
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } else {
    download(await pngUrl(el), name);
  }
  return name;
}

// The label of each figure, for the export menu.
export function figureLabels(rootSelector) {
  return figures(rootSelector).map((el, i) =>
    el.getAttribute("aria-label") || el.id || `figure ${i + 1}`);
}

export async function copyText(text) {
  if (!navigator.clipboard) throw new Error("this browser gives the page no clipboard here");
  await navigator.clipboard.writeText(text);
}

function buildId() {
  const wasm = [...document.querySelectorAll("link[href$='.wasm']")].map((l) => l.getAttribute("href"))[0] || "dev";
  return wasm.replace(/^.*\//, "").replace(/\.wasm$/, "");
}

// Registers sw.js for this build (the id is the hashed wasm file's name); resolves to ""
// or why there is no offline copy.
export async function registerWorker() {
  if (!("serviceWorker" in navigator) || !("caches" in self)) return "this browser keeps no offline copy (no service worker)";
  await navigator.serviceWorker.register(`sw.js?build=${encodeURIComponent(buildId())}`);
  await storeLoaded();
  return "";
}

// Stores what the page has loaded so far (the shell and models fetched before the
// service worker took over): same-origin files the browser already fetched.
export async function storeLoaded() {
  if (!("caches" in self)) return;
  const cache = await caches.open(`hybrid-${buildId()}`);
  const here = new URL(".", location.href);
  const urls = new Set([here.pathname]);
  for (const e of performance.getEntriesByType("resource")) {
    const u = new URL(e.name);
    if (u.origin === location.origin && !u.pathname.endsWith("/sw.js")) urls.add(u.pathname + u.search);
  }
  for (const u of urls) {
    if (!(await cache.match(u))) {
      try { await cache.add(u); } catch (_) { /* offline or gone: stored on next use */ }
    }
  }
}

// What the service worker stored: {files, bytes, models: [folder], build}.
export async function stored() {
  if (!("caches" in self)) return { files: 0, bytes: 0, models: [], build: "" };
  const names = (await caches.keys()).filter((n) => n.startsWith("hybrid-"));
  let files = 0, bytes = 0;
  const models = new Set();
  for (const n of names) {
    const cache = await caches.open(n);
    for (const req of await cache.keys()) {
      const res = await cache.match(req);
      files += 1;
      const len = Number(res && res.headers.get("content-length"));
      bytes += Number.isFinite(len) && len > 0 ? len : (res ? (await res.clone().blob()).size : 0);
      const m = new URL(req.url).pathname.match(/assets\/models\/([^/]+)\/model\.safetensors$/);
      if (m) models.add(m[1]);
    }
  }
  return { files, bytes, models: [...models].sort(), build: names.join(",") };
}
