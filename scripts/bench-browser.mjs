// Benchmark (not a test: asserts nothing, never in CI): the playground-size models in
// headless Chromium, our engines beside ONNX Runtime Web, in one page session.
//
// 1. Our engines: the page's in-page benchmark (`#bench=...`, app/src/bench.rs) times
//    prefill and decode on the CPU engine (wasm) and on WebGPU (SwiftShader here), random
//    weights of the real shapes; the WebGPU rows carry their error against the CPU engine.
// 2. ONNX Runtime Web (npm `onnxruntime-web`, not a dependency of the project: install it
//    with `npm install --no-save onnxruntime-web@1.30.0`), wasm backend (`--ort-threads N`,
//    default 1; its page is cross-origin isolated, as ours is when served by
//    scripts/static-server.mjs, where our CPU engine runs on navigator.hardwareConcurrency
//    threads) and WebGPU, on the same configs exported to ONNX by
//    train/export_onnx.py: the graphs are docs/bench/onnx/*.onnx (weights external), the
//    weights are recomputed here from manifest.json (the same hash as the exporter, so the
//    logits are checked against PyTorch's); prefill only (the export has no KV cache).
//
// Usage: HYBRID_URL=<served dist/> node scripts/bench-browser.mjs [--lens 128,2048]
//        [--families transformer,mamba2,inter,intra] [--engines cpu,webgpu,ort-wasm,ort-webgpu]
//        [--gpu-lens 128] [--ort-threads 1] [--json out.json]
//        (the family `gemm` also times the CPU engine's SGEMM kernels in the page: a table
//        of GFLOP/s at the models' shapes, app/src/bench_gemm.rs)
// (scripts/build-web.sh, then `node scripts/static-server.mjs dist --port 0`.)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_MODES, URL_UNDER_TEST, check, counts, openPage } from '../tests/browser/lib/chromium.mjs';
import { ortBench } from './lib/ort-bench.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ONNX_DIR = path.join(ROOT, 'docs/bench/onnx');
const ORT_DIR = path.join(ROOT, 'node_modules/onnxruntime-web/dist');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const list = (s) => s.split(',').filter((x) => x.length > 0);
const lens = list(opt('--lens', '128,2048')).map(Number);
const gpuLens = list(opt('--gpu-lens', '128')).map(Number);
const asked = list(opt('--families', 'transformer,mamba2,inter,intra'));
const wantGemm = asked.includes('gemm');
const families = asked.filter((f) => f !== 'gemm');
const engines = list(opt('--engines', 'cpu,webgpu,ort-wasm,ort-webgpu'));
const jsonOut = opt('--json', null);
const ortThreads = Number(opt('--ort-threads', '1'));
const wantOrt = engines.some((e) => e.startsWith('ort-'));
if (wantOrt && !fs.existsSync(path.join(ORT_DIR, 'ort.wasm.min.mjs'))) {
  throw new Error(`no onnxruntime-web in node_modules: npm install --no-save onnxruntime-web@1.30.0`);
}
const manifest = wantOrt ? JSON.parse(fs.readFileSync(path.join(ONNX_DIR, 'manifest.json'), 'utf8')) : null;

const mode = ALL_MODES.find((m) => m.name === 'webgpu');
counts.modes++; // the shared harness fails a script that ran nothing
const { browser, page } = await openPage(mode, { serviceWorkers: 'block' });
const rows = [];
try {
  // ONNX Runtime Web and the graphs, served under the page's own origin
  await page.route('**/__ort/**', (route) => {
    const name = path.basename(new URL(route.request().url()).pathname);
    if (name === 'blank.html') {
      return route.fulfill({
        status: 200,
        body: '<!doctype html><title>ORT</title>',
        headers: { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' },
      });
    }
    const file = name.endsWith('.onnx') ? path.join(ONNX_DIR, name) : path.join(ORT_DIR, name);
    if (!fs.existsSync(file)) return route.fulfill({ status: 404, body: `no ${name}` });
    const type = name.endsWith('.wasm') ? 'application/wasm' : name.endsWith('.mjs') ? 'text/javascript' : 'application/octet-stream';
    // COEP / CORP on every file too: a cross-origin isolated page may only start ORT's
    // thread workers from scripts that opt in (without them the threads never start and
    // the session waits forever)
    const isolation = { 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' };
    return route.fulfill({ status: 200, body: fs.readFileSync(file), headers: { 'content-type': type, ...isolation } });
  });
  const ours = engines.filter((e) => e === 'cpu' || e === 'webgpu');
  if (ours.length > 0) {
    // CPU lengths and WebGPU lengths (SwiftShader is slow) as two page runs
    const runs = [];
    if (ours.includes('cpu')) runs.push({ engines: 'cpu', lens, families: wantGemm ? ['gemm', ...families] : families });
    if (ours.includes('webgpu')) runs.push({ engines: ours.includes('cpu') ? 'cpu,webgpu' : 'webgpu', lens: gpuLens, families });
    for (const r of runs) {
      if (r.families.length === 0) continue;
      const url = new URL(URL_UNDER_TEST);
      url.hash = `bench=${r.families.join(',')}&lens=${r.lens.join(',')}&engines=${r.engines}&decode=16&runs=2`;
      await page.goto('about:blank');
      await page.goto(url.toString(), { waitUntil: 'load' });
      await page.waitForFunction(() => ['done', 'error'].includes(window.__hybridBench?.status), null, { timeout: 0 });
      const report = await page.evaluate(() => window.__hybridBench);
      check(report.status === 'done' && report.rows.length > 0, `in-page benchmark: ${report.status} ${report.errors.join('; ')}`);
      console.log(`page: cpu threads ${report.cpu_threads}, simd128 ${report.simd128}, webgpu: ${report.webgpu}`);
      for (const e of report.errors) console.log(`  page error: ${e}`);
      if ((report.gemm ?? []).length > 0) {
        console.log('\n| GEMM (wasm, one thread) | M x K x N | matrixmultiply 8x8 GFLOP/s | packed 4x8 GFLOP/s | 4x8 / 8x8 |');
        console.log('|---|---|---:|---:|---:|');
        for (const g of report.gemm) {
          const [a, b] = [g.matrixmultiply_gflops, g.packed_4x8_gflops];
          console.log(`| ${g.name} | ${g.m}x${g.k}x${g.n} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}x |`);
          rows.push({ model: 'gemm', engine: 'cpu-wasm', ...g });
        }
        console.log('');
      }
      for (const row of report.rows) {
        // the CPU rows of the second run repeat the first's lengths only where asked
        if (r.engines === 'cpu,webgpu' && row.engine === 'cpu-wasm' && ours.includes('cpu') && lens.includes(row.context)) continue;
        rows.push({ ...row, model: row.model.replace('playground-', '') });
        console.log(`  ${row.model} [${row.engine}] @ ${row.context}: prefill ${row.prefill_ms.toFixed(1)} ms, decode ${row.decode_ms_per_token.toFixed(2)} ms/token`);
      }
    }
  }
  if (wantOrt) {
    // a blank page of the same origin (the app would start loading its models)
    await page.goto(new URL('/__ort/blank.html', URL_UNDER_TEST).toString(), { waitUntil: 'load' });
    for (const fam of families) {
      for (const t of lens) {
        const file = `${fam}-${t}.onnx`;
        const entry = manifest.models[file];
        if (!entry) {
          console.log(`  no ${file} in docs/bench/onnx (export those lengths with train/export_onnx.py)`);
          continue;
        }
        for (const ep of engines.filter((e) => e.startsWith('ort-')).map((e) => e.slice(4))) {
          if (ep === 'webgpu' && !gpuLens.includes(t)) continue;
          const r = await ortBench(page, file, entry, ep, ortThreads);
          check(r.error || Number.isFinite(r.prefill_ms), `${file} on ${ep}: a time or an error`);
          rows.push({ model: fam, engine: `ort-${ep}`, context: t, ...r });
          console.log(`  ${fam} [ort-${ep}] @ ${t}: ${r.error ?? `prefill ${r.prefill_ms.toFixed(1)} ms, rel err vs torch ${r.rel_err_vs_torch.toExponential(1)}`}`);
        }
      }
    }
  }
} finally {
  await browser.close();
}

// the table: one line per (model, context), the engines side by side
const cell = (m, t, e, f) => {
  const r = rows.find((x) => x.model === m && x.context === t && x.engine === e);
  return r ? f(r) : '-';
};
const ms = (r) => (r.error ? 'error' : r.prefill_ms.toFixed(0));
const err = (r) => (r.rel_err_vs_cpu ?? r.rel_err_vs_torch ?? NaN);
console.log('\n| model | context | ours CPU (wasm) prefill ms | ours WebGPU prefill ms | ORT wasm prefill ms | ORT WebGPU prefill ms | ORT wasm / ours CPU | ours decode ms/token (CPU) | WebGPU max rel err: ours vs CPU; ORT vs PyTorch |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
for (const m of families) {
  for (const t of [...new Set([...lens, ...gpuLens])].sort((a, b) => a - b)) {
    const ours = rows.find((x) => x.model === m && x.context === t && x.engine === 'cpu-wasm');
    const ort = rows.find((x) => x.model === m && x.context === t && x.engine === 'ort-wasm');
    const ratio = ours && ort && !ort.error ? `${(ort.prefill_ms / ours.prefill_ms).toFixed(2)}x` : '-';
    const e1 = cell(m, t, 'webgpu', (r) => err(r).toExponential(1));
    const e2 = cell(m, t, 'ort-webgpu', (r) => (r.error ? 'error' : Number.isFinite(err(r)) ? err(r).toExponential(1) : 'NaN'));
    console.log(`| ${m} | ${t} | ${cell(m, t, 'cpu-wasm', ms)} | ${cell(m, t, 'webgpu', ms)} | ${cell(m, t, 'ort-wasm', ms)} | ` +
      `${cell(m, t, 'ort-webgpu', ms)} | ${ratio} | ${cell(m, t, 'cpu-wasm', (r) => r.decode_ms_per_token.toFixed(2))} | ${e1}; ${e2} |`);
  }
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 1));
