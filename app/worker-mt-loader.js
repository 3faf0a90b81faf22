// Loads the threaded CPU engine worker (scripts/build-web.sh copies this file to
// dist/hybrid-worker-mt_loader.js): the page starts it where it is cross-origin isolated.
// A failed start is rethrown outside the promise: an uncaught error reaches the page's
// `onerror` (a rejected promise would not), and the page falls back to one thread.
importScripts('./hybrid-worker-mt.js');
wasm_bindgen({ module_or_path: './hybrid-worker-mt_bg.wasm' }).catch((e) => {
  setTimeout(() => {
    throw e;
  });
});
