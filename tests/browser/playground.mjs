// Browser test of the playground's views: two models side by side (the random-weight test
// models), then Attention, State, Scaling and Architecture, checking that what is drawn
// comes from engine output (counts and checksums the page publishes, and canvas pixels).
// Runs with WebGPU (SwiftShader) and without (CPU fallback).
// Env: HYBRID_URL, HYBRID_SCREENSHOT_DIR (screenshots <view>-<mode>.png), HYBRID_SHOT_VIEWPORT,
//      HYBRID_MODES, CHROMIUM.
import path from 'node:path';
import { URL_UNDER_TEST, check, openPage, runInModes, screenshotDir } from './lib/chromium.mjs';

const A = 'test-random'; // inter hybrid: mamba, attention, mamba, mamba (4 attn heads, 8 SSM heads)
const B = 'test-random-mamba'; // 4 Mamba-2 layers, 8 SSM heads
const PROMPT = 'The cat sat on the mat. The cat';
const N = 16;
const shots = screenshotDir();
const status = (page) => page.evaluate(() => window.__hybrid_status ?? null);
const close = (a, b, tol = 1e-3) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

async function canvasColors(page, selector) {
  return page.$eval(selector, (c) => {
    const ctx = c.getContext('2d');
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 16) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}

const { failed } = await runInModes('playground', async (mode) => {
  const { browser, page } = await openPage(mode);
  // Full-page screenshots, or (HYBRID_SHOT_VIEWPORT=1, for docs) the viewport from the tabs down.
  const shot = async (name) => {
    const viewport = process.env.HYBRID_SHOT_VIEWPORT === '1';
    if (viewport) await page.$eval('.tabs', (e) => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 8));
    await page.screenshot({ path: path.join(shots, `${name}-${mode.name}.png`), fullPage: !viewport });
  };
  try {
    const hash = `#view=compare&models=${A},${B}&prompt=${encodeURIComponent(PROMPT)}`;
    await page.goto(URL_UNDER_TEST + hash, { waitUntil: 'load' });
    await page.waitForFunction(
      () => ['ready', 'error'].includes(window.__hybrid_status?.state) && window.__hybrid_status.models.length === 2,
    );
    let s = await status(page);
    check(s.state === 'ready', `models did not load: ${JSON.stringify(s.errors)}`);
    check(s.models[0].id === A && s.models[1].id === B, `slots: ${s.models.map((m) => m.id)}`);

    // Compare: generate with both, greedily.
    await page.fill('#max-tokens', String(N));
    await page.fill('#temperature', '0');
    await page.click('#generate');
    await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.state));
    s = await status(page);
    check(s.state === 'done', `generation ended in ${s.state}: ${JSON.stringify(s.errors)}`);
    for (const [i, m] of s.models.entries()) {
      check(m.generated === N && m.ids.length === N, `${m.id}: ${m.generated} tokens`);
      check(m.tokens_per_s > 0, `${m.id}: no tokens/s`);
      const shown = await page.textContent(i === 0 ? '#output' : `#output-${i + 1}`);
      check(shown === m.text, `${m.id}: output element differs from the decoded text`);
    }
    check(s.models[0].kv_bytes > 0 && s.models[0].ssm_bytes > 0, `hybrid memory: ${JSON.stringify(s.models[0])}`);
    check(s.models[1].kv_bytes === 0 && s.models[1].ssm_bytes > 0, `Mamba memory: ${JSON.stringify(s.models[1])}`);
    check((await page.textContent('#stats-2')).includes('tokens/s'), 'second model has no stats line');
    await shot('compare');

    // Attention: maps from the engine's probes.
    await page.click('#tab-attention');
    await page.waitForFunction(() => window.__hybrid_status?.models.every((m) => m.analysis));
    s = await status(page);
    const [a, b] = s.models.map((m) => m.analysis);
    const T = a.tokens;
    check(T > 5 && b.tokens === T, `tokens: ${T} vs ${b.tokens}`);
    // the probes run on the engine the page runs on: WebGPU when it has an adapter
    const probeEngine = s.engine === 'gpu' ? 'WebGPU' : 'CPU';
    check(a.engine === probeEngine && b.engine === probeEngine, `probes computed by ${a.engine} / ${b.engine}, page engine ${s.engine}`);
    check(a.attn_maps === 4 && a.implicit_maps === 24, `hybrid maps: ${JSON.stringify(a)}`);
    check(b.attn_maps === 0 && b.implicit_maps === 32, `Mamba maps: ${JSON.stringify(b)}`);
    check(close(a.attn_sum, 4 * T), `softmax rows sum to 1: attn_sum ${a.attn_sum}, expected ${4 * T}`);
    check(Math.abs(a.implicit_sum) > 0 && Math.abs(b.implicit_sum) > 0, 'implicit attention is all zero');
    // one layer at a time: layer 1 (Mamba in both models), then layer 2 (the hybrid's attention)
    await page.waitForSelector('[data-testid="implicit-2-0"] canvas.big');
    const cells = Number(await page.getAttribute('[data-testid="implicit-2-0"] canvas.big', 'data-cells'));
    check(cells === T * T, `implicit map of the second model has ${cells} cells, expected ${T * T}`);
    check((await page.$$('[data-testid="attn-1"]')).length === 0, 'layer 2 is drawn before it is picked');
    await page.click('#attn-layer-2');
    await page.waitForSelector('[data-testid="attn-1"] canvas.big');
    await page.waitForFunction(() => location.hash.includes('layer=1'));
    const big = await page.getAttribute('[data-testid="attn-1"] canvas.big', 'data-sum');
    check(close(Number(big), T), `large attention map sums to ${big}, expected ${T} (one per query row)`);
    const colors = await canvasColors(page, '[data-testid="attn-1"] canvas.big');
    check(colors > 8, `attention canvas looks blank (${colors} colors)`);
    // Hover names the tokens and the weight.
    const box = await page.$eval('[data-testid="attn-1"] canvas.big', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
    await page.mouse.move(box.x + box.w - 5, box.y + box.h - 5);
    const hover = await page.textContent('[data-testid="attn-1"] .hover');
    check(/query .* -> key .*: /.test(hover), `hover text: ${hover}`);
    // Color scale: shared by all models, or each map its own (the legend under the map says which).
    const legendMax = async () => {
      const label = await page.getAttribute('[data-testid="implicit-2-1"] .legend', 'aria-label');
      return { label, max: Number(label.split(' to ').at(-1)) };
    };
    const shared = await legendMax();
    await page.check('#attn-per-map');
    await page.waitForFunction(() => document.querySelector('[data-testid="implicit-2-1"] .legend')?.getAttribute('aria-label').includes("this map's scale"));
    const own = await legendMax();
    const mapMax = Number(await page.getAttribute('[data-testid="implicit-2-1"] canvas.big', 'data-max'));
    check(/shared scale/.test(shared.label) && own.max > 0 && own.max <= mapMax * 1.01 + 1e-6 && own.max !== shared.max,
      `per-map scale: shared ${shared.label}, own ${own.label}, map max ${mapMax}`);
    await page.uncheck('#attn-per-map');
    await shot('attention');

    // State: Mamba layers' state norms and dt.
    await page.click('#tab-state');
    await page.waitForSelector('[data-testid^="state"] canvas');
    const stateLayers = await page.$$eval('[data-testid^="state"]', (els) => els.length);
    check(stateLayers === 3 + 4, `state panels: ${stateLayers}, expected 7 Mamba layers`);
    const normSum = await page.$$eval('[data-testid^="state"] canvas', (cs) => cs.reduce((t, c) => t + Number(c.dataset.sum), 0));
    check(close(normSum, a.dt_sum + a.state_norm_sum + b.dt_sum + b.state_norm_sum, 1e-3), `state canvases sum ${normSum}`);
    check((await canvasColors(page, '[data-testid="state-0"] canvas')) > 8, 'state canvas looks blank');
    await page.fill('#token-scrubber', '3');
    await page.$eval('#token-scrubber', (e) => e.dispatchEvent(new Event('input', { bubbles: true })));
    const readout = await page.textContent('[data-testid="state-0"] .hover');
    check(/#4\)/.test(readout) && /state norm mean/.test(readout), `scrubber readout: ${readout}`);
    const memPoints = Number(await page.getAttribute('#state-memory-chart', 'data-measured-points'));
    check(memPoints === 2, `memory chart: ${memPoints} measured points`);
    await shot('state');

    // Scaling: a short live sweep.
    await page.click('#tab-scaling');
    await page.selectOption('#sweep-max', '256');
    await page.click('#sweep-run');
    await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.sweep.run));
    s = await status(page);
    check(s.sweep.run === 'done', `sweep ended ${s.sweep.run}: ${JSON.stringify(s.errors)}`);
    check(s.sweep.points.length === 6, `sweep points: ${s.sweep.points.length}`);
    for (const p of s.sweep.points) {
      check(p.prefill_ms > 0 && p.decode_ms_per_token > 0, `bad timing ${JSON.stringify(p)}`);
      check(p.state_bytes === p.analytic_bytes, `measured state != formula: ${JSON.stringify(p)}`);
    }
    check(Number(await page.getAttribute('#chart-prefill', 'data-measured-points')) === 6, 'prefill chart points');
    check(Number(await page.getAttribute('#chart-memory', 'data-analytic-points')) > 40, 'memory chart has no analytic lines');
    const csv = decodeURIComponent((await page.getAttribute('#download-csv', 'href')).split(',').slice(1).join(','));
    check(csv.startsWith('model,engine,context_tokens') && csv.trim().split('\n').length === 7, `CSV: ${csv.slice(0, 200)}`);
    await shot('scaling');

    // Architecture: edit a block, numbers change; send to Scaling.
    await page.click('#tab-architecture');
    const before = Number(await page.getAttribute('#arch-numbers', 'data-params'));
    await page.click('.stack .block >> nth=0');
    const after = Number(await page.getAttribute('#arch-numbers', 'data-params'));
    check(before > 0 && after > 0 && after !== before, `params did not change: ${before} -> ${after}`);
    await page.selectOption('#arch-dmodel', '64');
    await shot('architecture');
    await page.click('#send-to-scaling');
    await page.waitForFunction(() => window.__hybrid_status?.designed && ['done', 'error', 'stopped'].includes(window.__hybrid_status.sweep.run) && window.__hybrid_status.view === 'scaling');
    s = await status(page);
    check(s.sweep.run === 'done', `designed sweep ended ${s.sweep.run}: ${JSON.stringify(s.errors)}`);
    check(s.sweep.points.some((p) => p.model === s.designed), 'no points for the designed model');

    const errors = await page.$$eval('[data-testid=error]', (els) => els.map((e) => e.textContent));
    check(errors.length === 0, `errors in the page: ${errors.join(' | ')}`);
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);
    check((await page.evaluate(() => location.hash)).includes(`models=${A},${B}`), 'hash lost the models');
    console.log(`  [${mode.name}] ${T} tokens probed; sweep ${s.sweep.points.length} points; designed: ${s.designed}`);
  } finally {
    await browser.close();
  }
});
console.log(`screenshots: ${shots}`);
process.exit(failed ? 1 : 0);
