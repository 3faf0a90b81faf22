// Starts the page's wasm. Trunk (Trunk.toml, pattern_script) names the hashed files in
// data attributes of the <script> that loads this module; an external module instead of
// trunk's inline loader keeps the Content-Security-Policy free of 'unsafe-inline'.
const tag = document.querySelector('script[data-hybrid-js]');
if (!tag) throw new Error('boot.js: no <script data-hybrid-js> in the page');
const app = await import(tag.dataset.hybridJs);
await app.default({ module_or_path: tag.dataset.hybridWasm });
