// A thread of the CPU engine's pool (the threaded build only: app/src/worker/threads.rs).
// The engine's worker starts it and sends [module, memory]: this worker instantiates the
// same module on the same shared memory (without starting the engine: the global mark
// below tells the module's `main`) and says "ready". The second message is a pointer to
// a pool thread, which runs here until the pool ends. A failed start is rethrown outside
// the promise, so that it reaches the engine's worker as an error event (it then stays on
// one thread and says why).
self.hybridPoolThread = true;
importScripts('./hybrid-worker-mt.js');

self.onmessage = async (event) => {
  const [module, memory] = event.data;
  try {
    await wasm_bindgen({ module_or_path: module, memory });
  } catch (e) {
    setTimeout(() => {
      throw e;
    });
    return;
  }
  self.onmessage = (e) => wasm_bindgen.hybrid_pool_thread(e.data);
  self.postMessage('ready');
};
