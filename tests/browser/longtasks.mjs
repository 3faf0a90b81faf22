// Browser test: the page never freezes while the CPU engine works. A PerformanceObserver
// records every long task (> 50 ms) on the page's main thread while (1) a model generates
// 300 tokens, (2) a ~6,000-token prompt is read in chunks, and (3) such a prompt is
// stopped half-way; none may last over 100 ms. It also checks what the page says on the
// way: prefill progress, the note that the prompt is ~25x the model's training length,
// and that "Stop" ends the run within a few seconds. Runs on the CPU engine (the page's
// own choice in both modes: no WebGPU, or SwiftShader).
// Env: HYBRID_URL, HYBRID_MODES, HYBRID_TEST_TIMEOUT_MS, CHROMIUM.
import { URL_UNDER_TEST, check, openPage, runInModes, status } from './lib/chromium.mjs';

const MODEL = 'shakespeare-intra';
const LIMIT_MS = 100;
// ~20,000 characters of plain English: about 6,500 tokens with the Shakespeare tokenizer.
const LONG_PROMPT = 'To be, or not to be, that is the question: whether tis nobler in the mind to suffer. '
  .repeat(235);

/** Long tasks recorded since `mark()`: [{start, duration}] in ms. */
const longTasksSince = (page, t0) =>
  page.evaluate((t) => window.__longtasks.filter((e) => e.startTime >= t), t0);

async function run(page, prompt, tokens, { stopAfterMs } = {}) {
  await page.fill('#prompt', prompt);
  await page.fill('#max-tokens', String(tokens));
  await page.fill('#temperature', '0');
  const t0 = await page.evaluate(() => performance.now());
  await page.click('#generate');
  let stopped = null;
  if (stopAfterMs !== undefined) {
    await page.waitForFunction(() => (window.__hybrid_status?.models?.[0]?.prefilled ?? 0) > 0);
    await page.waitForTimeout(stopAfterMs);
    const clicked = Date.now();
    await page.click('#stop');
    await page.waitForSelector('#output:is([data-state=stopped], [data-state=done], [data-state=error])');
    stopped = Date.now() - clicked;
  }
  await page.waitForSelector('#output:is([data-state=done], [data-state=error], [data-state=stopped])');
  const s = await status(page);
  const tasks = await longTasksSince(page, t0);
  const worst = tasks.reduce((m, e) => Math.max(m, e.duration), 0);
  return { s, m: s.models[0], tasks, worst, stopped, wall: (await page.evaluate(() => performance.now())) - t0 };
}

const { failed } = await runInModes('longtasks', async (mode) => {
  const { browser, page } = await openPage(mode);
  try {
    await page.addInitScript(() => {
      window.__longtasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longtasks.push({ startTime: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    const url = new URL(URL_UNDER_TEST);
    url.hash = `models=${MODEL}`;
    await page.goto(url.toString(), { waitUntil: 'load' });
    await page.waitForFunction(() => {
      const s = window.__hybrid_status;
      return s && s.engine !== 'checking' && (s.state === 'ready' || s.state === 'error');
    });
    let s = await status(page);
    check(s.state === 'ready', `model did not load: ${JSON.stringify(s.errors)}`);
    check(s.engine === 'cpu', `the page should pick the CPU engine here: ${s.engine} (${s.engine_detail})`);
    check(await page.evaluate(() => PerformanceObserver.supportedEntryTypes.includes('longtask')),
      'this Chromium does not report long tasks: the test cannot run');
    // The observer sees a task the test blocks on purpose (else it could pass blind).
    const t0 = await page.evaluate(() => performance.now());
    // (a task of the page's own event loop: work run by the test's evaluate is not one)
    await page.evaluate(() => setTimeout(() => { const t = performance.now(); while (performance.now() - t < 150); }, 0));
    await page.waitForTimeout(400);
    const seen = await longTasksSince(page, t0);
    check(seen.some((e) => e.duration >= 150), `a 150 ms busy loop was not recorded as a long task: ${JSON.stringify(seen)}`);

    const gen = await run(page, 'ROMEO: ', 300);
    check(gen.s.state === 'done' && gen.m.generated === 300, `generation: ${gen.s.state}, ${gen.m.generated} tokens, ${JSON.stringify(gen.s.errors)}`);
    check(gen.m.wasm_bytes > 0, 'the run did not come from the CPU engine\'s worker (no wasm_bytes)');
    check(gen.worst <= LIMIT_MS, `long task of ${gen.worst.toFixed(0)} ms during generation: ${JSON.stringify(gen.tasks)}`);

    const long = await run(page, LONG_PROMPT, 8);
    check(long.s.state === 'done', `long prompt: ${long.s.state} ${JSON.stringify(long.s.errors)}`);
    check(long.m.prompt_tokens >= 6000, `the long prompt has only ${long.m.prompt_tokens} tokens`);
    check(long.m.prefilled === long.m.prompt_tokens, `prefill stopped at ${long.m.prefilled} of ${long.m.prompt_tokens}`);
    check(/trained on/.test(long.m.note ?? '') && /256 tokens/.test(long.m.note ?? ''),
      `no note that the prompt passes the training length (256): ${long.m.note}`);
    const noteShown = await page.textContent('body');
    check(noteShown.includes('this model was trained on'), 'the training-length note is not shown in the page');
    check(long.worst <= LIMIT_MS, `long task of ${long.worst.toFixed(0)} ms during a ${long.m.prompt_tokens}-token prompt: ${JSON.stringify(long.tasks)}`);

    const stop = await run(page, LONG_PROMPT, 8, { stopAfterMs: 300 });
    check(stop.s.state === 'stopped', `Stop during the prefill ended in ${stop.s.state}`);
    check(stop.m.prefilled < stop.m.prompt_tokens, `Stop came after the whole prompt was read (${stop.m.prefilled})`);
    check(stop.stopped < 3000, `Stop took ${stop.stopped} ms`);
    check(stop.worst <= LIMIT_MS, `long task of ${stop.worst.toFixed(0)} ms around Stop: ${JSON.stringify(stop.tasks)}`);
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);
    console.log(
      `  [${mode.name}] worst main-thread task: generation ${gen.worst.toFixed(0)} ms (${gen.m.tokens_per_s.toFixed(0)} tokens/s), ` +
        `${long.m.prompt_tokens}-token prompt ${long.worst.toFixed(0)} ms (prefill ${long.m.prefill_ms.toFixed(0)} ms), ` +
        `stop ${stop.worst.toFixed(0)} ms (stopped at ${stop.m.prefilled} tokens, ${stop.stopped} ms after the click)`,
    );
  } finally {
    await browser.close();
  }
});
process.exit(failed ? 1 : 0);
