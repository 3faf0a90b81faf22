// Browser test: load the page, pick the test model, generate N tokens greedily and check
// the output, once in Chromium with WebGPU (SwiftShader: the GPU engine, chosen with the
// badge's switch since the page would pick the CPU engine there) and once without
// (CPU fallback); both runs must give the same tokens.
// Env: HYBRID_URL (page), HYBRID_MODEL (model id, default test-random), HYBRID_TOKENS (N),
//      HYBRID_SCREENSHOT_DIR, HYBRID_TEST_TIMEOUT_MS, HYBRID_MODES (webgpu,no-webgpu), CHROMIUM.
import path from 'node:path';
import { URL_UNDER_TEST, TIMEOUT_MS, check, openPage, preferGpu, runInModes, screenshotDir } from './lib/chromium.mjs';

const MODEL = process.env.HYBRID_MODEL ?? 'test-random';
const N = Number(process.env.HYBRID_TOKENS ?? 24);
const PROMPT = 'The hybrid model reads: ';
const shots = screenshotDir();

const status = (page) => page.evaluate(() => window.__hybrid_status ?? null);

async function errorsInPage(page) {
  return page.$$eval('[data-testid=error]', (els) => els.map((e) => e.textContent));
}

const { failed, results } = await runInModes('generate', async (mode) => {
  const { browser, page } = await openPage(mode);
  try {
    // The GPU engine, as chosen with the badge's switch (SwiftShader is not the default).
    if (mode.webgpu) await preferGpu(page);
    await page.goto(URL_UNDER_TEST, { waitUntil: 'load' });

    // Backend badge: settled, and honest about WebGPU.
    await page.waitForFunction(() => window.__hybrid_status && window.__hybrid_status.engine !== 'checking');
    const badge = await page.textContent('#backend-badge');
    const webgpu = await page.getAttribute('#backend-badge', 'data-webgpu');
    const engine = await page.getAttribute('#backend-badge', 'data-backend');
    if (mode.webgpu) {
      check(webgpu === 'yes', `expected WebGPU available, badge says: ${badge}`);
      check(engine === 'gpu' && /WebGPU: /.test(badge), `expected the GPU engine, badge says: ${badge}`);
    } else {
      check(webgpu === 'no' && engine === 'cpu', `expected no WebGPU, badge says: ${badge}`);
      check(/CPU \(wasm(, \d+ threads?[^)]*)?\)/.test(badge) && /no WebGPU/.test(badge), `badge should name the CPU engine and why: ${badge}`);
    }

    // Pick the model and wait until it is loaded (or failed).
    await page.waitForSelector(`#model option[value="${MODEL}"]`, { state: 'attached' });
    await page.selectOption('#model', MODEL);
    await page.waitForFunction(
      (id) => {
        const s = window.__hybrid_status;
        return s && s.model === id && (s.state === 'ready' || s.state === 'error');
      },
      MODEL,
    );
    let s = await status(page);
    check(s.state === 'ready', `model ${MODEL} did not load: ${JSON.stringify(s.errors)}`);

    // Greedy generation of N tokens.
    await page.fill('#prompt', PROMPT);
    await page.fill('#max-tokens', String(N));
    await page.fill('#temperature', '0');
    await page.click('#generate');
    await page.waitForSelector('#output:is([data-state=done], [data-state=error], [data-state=stopped])', {
      timeout: TIMEOUT_MS,
    });
    await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.state));
    s = await status(page);
    await page.screenshot({ path: path.join(shots, `generate-${mode.name}.png`), fullPage: true });

    const errors = await errorsInPage(page);
    check(errors.length === 0, `error shown in the page: ${errors.join(' | ')}`);
    check(s.state === 'done', `generation ended in state ${s.state}: ${JSON.stringify(s.errors)}`);
    check(s.generated === N && s.ids.length === N, `expected ${N} tokens, got ${s.generated} (ids ${s.ids.length})`);
    check(s.ids.every((t) => Number.isInteger(t) && t >= 0), `bad token ids: ${s.ids}`);
    check(s.prompt_tokens > 0, `no prompt tokens counted`);
    const shown = await page.textContent('#output');
    check(shown.length > 0 && shown === s.text, `output element (${JSON.stringify(shown)}) != decoded text`);
    check(s.tokens_per_s > 0, `no tokens/s reported`);
    check((await page.textContent('#stats')).includes('tokens/s'), 'stats line has no tokens/s');
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);
    const backend = await page.getAttribute('#output', 'data-backend');
    check(backend === (mode.webgpu ? 'gpu' : 'cpu'), `the run used the ${backend} engine`);
    const ids = s.ids;

    // A long run stays responsive and stops on Stop.
    const LONG = 20000; // the most the form allows: the run cannot end before Stop
    await page.fill('#max-tokens', String(LONG));
    await page.click('#generate');
    await page.waitForFunction(() => window.__hybrid_status?.state === 'generating' && window.__hybrid_status.generated > 0);
    let worst = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      await page.evaluate(() => 1);
      worst = Math.max(worst, Date.now() - t0);
    }
    await page.click('#stop');
    await page.waitForSelector('#output:is([data-state=done], [data-state=error], [data-state=stopped])');
    const stopped = await status(page);
    check(stopped.state === 'stopped', `Stop did not stop the run: state ${stopped.state}, ${stopped.generated} tokens`);
    check(stopped.generated > 0 && stopped.generated < LONG, `stopped after ${stopped.generated} tokens`);
    check(worst < 2000, `the page answered a script call after ${worst} ms while generating`);
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);

    console.log(
      `  [${mode.name}] stopped after ${stopped.generated} of ${LONG} tokens; slowest script call while generating: ${worst} ms`,
    );
    console.log(
      `  [${mode.name}] ${N} tokens at ${s.tokens_per_s.toFixed(1)} tokens/s, prefill ${s.prefill_ms.toFixed(1)} ms; ` +
        `engine ${backend}; badge: ${badge.replace(/\s+/g, ' ').trim()}`,
    );
    return ids;
  } finally {
    await browser.close();
  }
});

let bad = failed;
const runs = Object.values(results);
if (runs.length === 2 && JSON.stringify(runs[0]) !== JSON.stringify(runs[1])) {
  console.error(`FAIL generate: greedy tokens differ between browsers: ${runs[0]} vs ${runs[1]}`);
  bad++;
}
console.log(`screenshots: ${shots}`);
process.exit(bad ? 1 : 0);
