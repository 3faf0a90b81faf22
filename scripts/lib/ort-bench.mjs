// ONNX Runtime Web in the page (scripts/bench-browser.mjs): one exported graph, its weights
// recomputed in the page from the manifest (train/export_onnx.py's hash, bit for bit), a
// warm-up run and the best of two timed prefills; the logits checked against PyTorch's.

/** Runs in the page: everything it needs is in `a` (structured-cloned). */
async function inPage(a) {
  // the wasm-only build for the wasm backend (the all-backends build's wasm, with the
  // WebGPU glue, ran the Mamba graphs ~3x slower here), the WebGPU build for WebGPU
  const ort = await import(a.ep === 'wasm' ? '/__ort/ort.wasm.min.mjs' : '/__ort/ort.webgpu.min.mjs');
  // threads need a cross-origin isolated page (the blank page is served with COOP/COEP)
  ort.env.wasm.numThreads = a.threads;
  ort.env.wasm.wasmPaths = '/__ort/';
  // train/export_onnx.py hash_uniform / init_value
  const uniform = (name, n) => {
    let seed = 0x811c9dc5;
    for (const b of new TextEncoder().encode(name)) seed = Math.imul(seed ^ b, 0x01000193) >>> 0;
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let x = (seed ^ Math.imul(i, 0x9e3779b9)) >>> 0;
      x ^= x >>> 16;
      x = Math.imul(x, 0x7feb352d) >>> 0;
      x ^= x >>> 15;
      x = Math.imul(x, 0x846ca68b) >>> 0;
      x ^= x >>> 16;
      u[i] = (x >>> 8) / 16777216;
    }
    return u;
  };
  const value = (name, n) => {
    const parts = name.split('.');
    const leaf = name.endsWith('.weight') ? parts[parts.length - 2] : parts[parts.length - 1];
    const u = uniform(name, n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v;
      if (['D', 'attn_scale', 'ssm_scale'].includes(leaf) || leaf.includes('norm')) v = 1;
      else if (leaf === 'A_log') v = Math.log(1 + 15 * u[i]);
      else if (leaf === 'dt_bias') {
        const dt = Math.exp(Math.log(1e-3) + u[i] * (Math.log(1e-1) - Math.log(1e-3)));
        v = dt + Math.log(-Math.expm1(-dt));
      } else if (name.includes('conv1d')) v = (u[i] - 0.5) * 0.5;
      else v = (u[i] - 0.5) * 0.0693;
      out[i] = v;
    }
    return out;
  };
  const weights = new Uint8Array(a.weightsBytes);
  for (const p of a.params) {
    const v = value(p.name, p.length / 4);
    weights.set(new Uint8Array(v.buffer), p.offset);
  }
  const graph = new Uint8Array(await (await fetch(`/__ort/${a.file}`)).arrayBuffer());
  const session = await ort.InferenceSession.create(graph, {
    executionProviders: [a.ep],
    externalData: [{ path: 'weights.bin', data: weights }],
  });
  const ids = new BigInt64Array(a.tokens);
  for (let i = 0; i < a.tokens; i++) ids[i] = BigInt((i * 7919 + 13) % a.vocab);
  const feeds = { tokens: new ort.Tensor('int64', ids, [1, a.tokens]) };
  await session.run(feeds); // warm-up (WebGPU compiles its shaders here)
  let best = Infinity;
  let logits = null;
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    const out = await session.run(feeds);
    best = Math.min(best, performance.now() - t0);
    logits = out.logits.data;
  }
  await session.release();
  let worst = 0;
  let scale = 1e-12;
  let finite = true;
  for (let i = 0; i < a.torchLogits.length; i++) {
    if (!Number.isFinite(logits[i])) finite = false;
    worst = Math.max(worst, Math.abs(logits[i] - a.torchLogits[i]));
    scale = Math.max(scale, Math.abs(a.torchLogits[i]));
  }
  return { prefill_ms: best, rel_err_vs_torch: finite ? worst / scale : NaN, finite, version: ort.env.versions?.web ?? '' };
}

/** Times one graph on execution provider `ep` ("wasm" or "webgpu"); an error becomes
 * `{ error }` (ONNX Runtime's WebGPU backend fails on some graphs: said, not thrown), and
 * so does a run past `limitMs` (a hang, e.g. thread workers that never start). */
export async function ortBench(page, file, entry, ep, threads = 1, limitMs = 300_000) {
  const a = {
    file, ep, threads, tokens: entry.tokens, vocab: entry.vocab, weightsBytes: entry.weights_bytes,
    params: entry.params.map(({ name, offset, length }) => ({ name, offset, length })),
    torchLogits: entry.torch_logits,
  };
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result in ${limitMs / 1000} s`)), limitMs);
  });
  try {
    return await Promise.race([page.evaluate(inPage, a), limit]);
  } catch (e) {
    return { error: String(e.message ?? e).split('\n')[0].slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}
