// Browser test: a long generation in the page stays flat beyond its KV cache.
// The CPU engine (in its worker) allocates the run's KV caches when the run starts, sized
// for the prompt and every new token (Model::new_state_for), so the worker's wasm memory
// may grow by that cache and nothing else. Per model, after a short run has warmed the
// worker up (baseline B), a long run is sampled at ~100 tokens (W1) and at its end (W2):
//   W2 - W1 <= SLACK                   flat while it runs (the cache is already there)
//   W2 - B  <= reserved KV + SLACK     the whole run costs its cache (analytic, from config.json)
//   kv_bytes at the end = the analytic bytes of the positions held
// SLACK (1 MiB) covers the allocator's growth steps and the short buffers of a step
// (scores over the keys, logits, the text and ids kept for the page). Before the caches were
// sized up front, the transformer's run grew by about its cache again (Vec doubling).
// Memory is the worker's `WebAssembly.Memory` size, which never shrinks: a high-water mark.
// Env: HYBRID_URL, HYBRID_MODES, HYBRID_MEMORY_TOKENS (default 3000; 10000 for the run).
import { URL_UNDER_TEST, check, openPage, runInModes, status } from './lib/chromium.mjs';

const TOKENS = Number(process.env.HYBRID_MEMORY_TOKENS ?? 3000);
const SLACK = 1 << 20;
// full attention (the cache grows with every token) and a 64-token window (the cache is
// a fixed ring: kept rows move down in place)
const MODELS = [
  { id: 'shakespeare-transformer', tokens: TOKENS },
  { id: 'shakespeare-swa', tokens: Math.ceil(TOKENS / 2) },
];
const PROMPT = 'ROMEO: ';
const MiB = (b) => (b / 2 ** 20).toFixed(2);

/** Bytes of K and V per cached position of each attention layer, and the rows a layer
 * keeps for `positions` positions (and reserves, with `chunk` more for a windowed one). */
function kvModel(cfg) {
  const a = cfg.attention;
  const row = 2 * a.n_kv_heads * a.head_dim * 4; // K and V rows, f32 (v_head_dim = head_dim here)
  check(a.v_head_dim == null && cfg.layers.every((l) => l === 'attention'),
    `${cfg.name}: the test's analytic size covers attention-only models with v_head_dim = head_dim`);
  const ring = a.window == null ? Infinity : a.sink_tokens + a.window - 1;
  return {
    held: (positions) => cfg.layers.length * row * Math.min(positions, ring),
    reserved: (positions, chunk) => cfg.layers.length * row * Math.min(positions, ring + chunk),
  };
}

async function run(page, tokens, sampleAt) {
  await page.fill('#prompt', PROMPT);
  await page.fill('#max-tokens', String(tokens));
  await page.fill('#temperature', '0.8');
  await page.click('#generate');
  let early = null;
  if (sampleAt) {
    await page.waitForFunction((n) => (window.__hybrid_status?.models?.[0]?.generated ?? 0) >= n, sampleAt);
    early = (await status(page)).models[0];
  }
  await page.waitForSelector('#output:is([data-state=done], [data-state=error], [data-state=stopped])');
  const s = await status(page);
  check(s.state === 'done', `run of ${tokens} tokens: ${s.state} ${JSON.stringify(s.errors)}`);
  return { early, end: s.models[0], engine: s.engine };
}

const { failed } = await runInModes('memory', async (mode) => {
  const { browser, page } = await openPage(mode);
  try {
    for (const m of MODELS) {
      const cfg = await (await fetch(new URL(`assets/models/${m.id}/config.json`, URL_UNDER_TEST))).json();
      const kv = kvModel(cfg);
      const url = new URL(URL_UNDER_TEST);
      url.hash = `models=${m.id}`;
      await page.goto('about:blank');
      await page.goto(url.toString(), { waitUntil: 'load' });
      await page.waitForFunction(() => ['ready', 'error'].includes(window.__hybrid_status?.state));
      const warm = await run(page, 8, 0);
      check(warm.engine === 'cpu', `${m.id}: expected the CPU engine (its worker), got ${warm.engine}`);
      const base = warm.end.wasm_bytes;
      const { early, end } = await run(page, m.tokens, 100);
      check(base > 0 && early.wasm_bytes > 0 && end.wasm_bytes > 0, `${m.id}: no wasm memory reported`);
      check(end.generated === m.tokens, `${m.id}: ${end.generated} of ${m.tokens} tokens`);
      // the last token is sampled, not fed: prompt + generated - 1 positions are cached
      const positions = end.prompt_tokens + end.generated - 1;
      check(end.kv_bytes === kv.held(positions),
        `${m.id}: KV ${end.kv_bytes} bytes, analytic ${kv.held(positions)} for ${positions} positions`);
      // what Generation::new reserves: prompt + new tokens + 1, prefill chunks of 128
      const reserved = kv.reserved(end.prompt_tokens + m.tokens + 1, 128);
      const during = end.wasm_bytes - early.wasm_bytes;
      const whole = end.wasm_bytes - base;
      console.log(`  [${mode.name}] ${m.id}, ${m.tokens} tokens: wasm ${MiB(base)} (warm) -> ` +
        `${MiB(early.wasm_bytes)} (at ${early.generated}) -> ${MiB(end.wasm_bytes)} MiB (end); ` +
        `KV held ${MiB(end.kv_bytes)}, reserved ${MiB(reserved)} MiB; ${end.tokens_per_s.toFixed(0)} tokens/s`);
      check(during <= SLACK, `${m.id}: wasm memory grew ${MiB(during)} MiB while the run went on ` +
        `(from token ${early.generated}); allowed ${MiB(SLACK)} MiB: the KV cache was not sized up front?`);
      check(whole <= reserved + SLACK, `${m.id}: the run grew wasm memory by ${MiB(whole)} MiB; ` +
        `its KV cache is ${MiB(reserved)} MiB (+ ${MiB(SLACK)} MiB allowed)`);
    }
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);
  } finally {
    await browser.close();
  }
});
process.exit(failed ? 1 : 0);
