// Loads the threaded CPU engine worker (scripts/build-web.sh copies this file to
// dist/hybrid-worker-mt_loader.js): the page starts it where it is cross-origin isolated.
importScripts('./hybrid-worker-mt.js');
wasm_bindgen({ module_or_path: './hybrid-worker-mt_bg.wasm' });
