// Benchmark: memory of a long generation in the page, on the CPU engine (its worker).
// Generates 10,000 tokens with each model below and prints, at 1,000 tokens and at the
// end: the worker's wasm memory, the model state's own bytes (KV cache, SSM+conv), and
// the page's JS heap (performance.memory, precise with --enable-precise-memory-info).
// A flat run: wasm memory grows by the KV cache at most; the JS heap by the text shown.
// Prints a table; asserts nothing. tests/browser/memory.mjs asserts the bound (a run's KV
// caches are allocated when it starts, so wasm memory grows by them alone).
// Usage: HYBRID_URL=<served dist/> node scripts/bench-page-memory.mjs [tokens]
import { ALL_MODES, URL_UNDER_TEST, check, counts, openPage, status } from '../tests/browser/lib/chromium.mjs';

const TOKENS = Number(process.argv[2] ?? 10_000);
const MODELS = ['shakespeare-mamba2', 'shakespeare-transformer', 'shakespeare-intra'];
const mode = { ...ALL_MODES[1], flags: [...ALL_MODES[1].flags, '--enable-precise-memory-info'] };
const MiB = (b) => (b / 2 ** 20).toFixed(2);

const sample = (page) =>
  page.evaluate(() => {
    const m = window.__hybrid_status.models[0];
    return { generated: m.generated, wasm: m.wasm_bytes, kv: m.kv_bytes, ssm: m.ssm_bytes,
      heap: performance.memory?.usedJSHeapSize ?? 0, text: m.text.length };
  });

counts.modes++;
const { browser, page } = await openPage(mode);
const rows = [];
try {
  for (const model of MODELS) {
    const url = new URL(URL_UNDER_TEST);
    url.hash = `models=${model}`;
    await page.goto('about:blank');
    await page.goto(url.toString(), { waitUntil: 'load' });
    await page.waitForFunction(() => ['ready', 'error'].includes(window.__hybrid_status?.state));
    await page.fill('#prompt', 'ROMEO: ');
    await page.fill('#max-tokens', String(TOKENS));
    await page.fill('#temperature', '0.8');
    await page.click('#generate');
    await page.waitForFunction(() => (window.__hybrid_status?.models?.[0]?.generated ?? 0) >= 1000);
    const at1k = await sample(page);
    await page.waitForSelector('#output:is([data-state=done], [data-state=error], [data-state=stopped])');
    const end = await sample(page);
    const s = await status(page);
    check(s.state === 'done', `${model}: ${s.state} ${JSON.stringify(s.errors)}`);
    rows.push({ model, at1k, end, tps: s.models[0].tokens_per_s });
  }
} finally {
  await browser.close();
}
console.log(`\n${TOKENS} tokens per model, CPU engine in its worker (MiB; "1K" = at ~1,000 tokens)\n`);
console.log('| model | tokens/s | wasm 1K | wasm end | KV 1K | KV end | SSM+conv end | JS heap 1K | JS heap end | text end (chars) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const { model, at1k, end, tps } of rows) {
  console.log(`| ${model} | ${tps.toFixed(0)} | ${MiB(at1k.wasm)} | ${MiB(end.wasm)} | ${MiB(at1k.kv)} | ${MiB(end.kv)} | ` +
    `${MiB(end.ssm)} | ${MiB(at1k.heap)} | ${MiB(end.heap)} | ${end.text} |`);
}
