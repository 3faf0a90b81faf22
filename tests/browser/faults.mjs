// Browser test: faults the page survives, and what it may reach.
// - Content-Security-Policy: every request the page and its worker make is recorded and
//   must go to the page's own origin; the policy must be in force (a fetch to another
//   origin is refused by it) and nothing the page itself does may violate it.
// - An oversized prompt and odd text (control characters, emoji, right-to-left marks)
//   end in a clear message or a normal run, and the page keeps working.
// - WebGPU mode: the GPU device is destroyed (device.destroy(), captured by wrapping
//   GPUAdapter.requestDevice) in the middle of a GPU generation: the run finishes on the
//   CPU engine, the badge says why, nothing else is lost (prompt, settings, view, link,
//   model, the run's text), and the next run works.
// Env: HYBRID_URL, HYBRID_MODES, HYBRID_TEST_TIMEOUT_MS, CHROMIUM.
import { URL_UNDER_TEST, check, openPage, runInModes, status } from './lib/chromium.mjs';

const MODEL = 'test-random';
const origin = new URL(URL_UNDER_TEST).origin;

async function generate(page, prompt, tokens) {
  await page.fill('#prompt', prompt);
  await page.fill('#max-tokens', String(tokens));
  await page.fill('#temperature', '0');
  await page.click('#generate');
  await page.waitForSelector('#output:is([data-state=done], [data-state=error], [data-state=stopped])');
  return status(page);
}

/** Every form field's value (the prompt, the settings), the page's address (view and
 * link state live in its hash) and the view shown. */
const settings = (page) =>
  page.evaluate(() => ({
    fields: [...document.querySelectorAll('input, select, textarea')]
      .map((e) => [e.id || e.name, e.type === 'checkbox' || e.type === 'radio' ? e.checked : e.value]),
    href: location.href,
    view: document.querySelector('[aria-current], [aria-selected=true]')?.textContent ?? null,
  }));

async function open(page) {
  const url = new URL(URL_UNDER_TEST);
  url.hash = `models=${MODEL}`;
  await page.goto('about:blank');
  await page.goto(url.toString(), { waitUntil: 'load' });
  await page.waitForFunction(() => {
    const s = window.__hybrid_status;
    return s && s.engine !== 'checking' && ['ready', 'error'].includes(s.state);
  });
  const s = await status(page);
  check(s.state === 'ready', `model did not load: ${JSON.stringify(s.errors)}`);
  return s;
}

const { failed } = await runInModes('faults', async (mode) => {
  const { browser, page } = await openPage(mode);
  try {
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
      if (window.GPUAdapter) {
        const request = GPUAdapter.prototype.requestDevice;
        GPUAdapter.prototype.requestDevice = async function (...args) {
          const device = await request.apply(this, args);
          (window.__gpuDevices ??= []).push(device);
          return device;
        };
      }
    });
    await open(page);

    // Odd text is just text; an oversized prompt is a message, and the page goes on.
    let s = await generate(page, 'odd \u0000\u0007\t text 😀 \u202eٱلرَّحْمَٰن\u202c ﷽ \uFFFF end', 16);
    check(s.state === 'done' && s.generated === 16, `odd text: ${s.state} ${JSON.stringify(s.errors)}`);
    s = await generate(page, 'x'.repeat(40_000), 4);
    const shown = (await page.$$eval('[data-testid=error]', (els) => els.map((e) => e.textContent))).join(' | ');
    check(s.state === 'error' && /at most 32768/.test(shown), `oversized prompt: ${s.state}, page shows: ${shown}`);
    s = await generate(page, 'Back to normal: ', 12);
    check(s.state === 'done' && s.generated === 12 && s.errors.length === 0,
      `after the oversized prompt: ${s.state} ${JSON.stringify(s.errors)}`);
    console.log(`  [${mode.name}] oversized prompt: ${shown}`);

    if (mode.webgpu) {
      // The GPU engine, chosen with the switch; its device lost half-way through a run.
      await page.evaluate(() => localStorage.setItem('hybrid.engine', 'gpu'));
      s = await open(page);
      check(s.engine === 'gpu', `the switch's choice should open the GPU engine: ${s.engine} ${s.engine_detail}`);
      await page.fill('#prompt', 'The device will be lost: ');
      await page.fill('#max-tokens', '40');
      await page.fill('#temperature', '0.7');
      await page.fill('#top-p', '0.9');
      const before = await settings(page);
      await page.click('#generate');
      await page.waitForFunction(() => (window.__hybrid_status?.generated ?? 0) >= 3);
      const destroyed = await page.evaluate(() => (window.__gpuDevices ?? []).map((d) => d.destroy()).length);
      check(destroyed > 0, 'no GPU device was captured: the test could not destroy it');
      await page.waitForSelector('#output:is([data-state=done], [data-state=error], [data-state=stopped])');
      s = await status(page);
      check(s.state === 'done' && s.generated === 40, `the run after device loss: ${s.state}, ${s.generated} tokens, ${JSON.stringify(s.errors)}`);
      check(s.engine === 'cpu' && /GPU engine failed/.test(s.engine_detail), `the badge should say the GPU failed: ${s.engine} ${s.engine_detail}`);
      const badge = (await page.textContent('#backend-badge')).replace(/\s+/g, ' ');
      check(/GPU engine failed.*the GPU device was lost/.test(badge), `the badge should say the device was lost: ${badge}`);
      // nothing else is lost: the prompt, every setting and field, the view, the link, the model
      const after = await settings(page);
      check(JSON.stringify(after) === JSON.stringify(before),
        `lost with the device: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
      check(s.model === MODEL && s.models[0].text.length > 0, `the model or the run's text was lost: ${s.model}`);
      s = await generate(page, 'Again, on the CPU: ', 10);
      check(s.state === 'done' && s.backend === 'cpu', `the next run: ${s.state} on ${s.backend}`);
      console.log(`  [${mode.name}] device lost: ${badge.trim()}`);
    }

    // The policy is in force: another origin is refused.
    const blocked = await page.evaluate(() => fetch('http://example.invalid/x').then(() => 'fetched', (e) => String(e)));
    check(blocked !== 'fetched', 'a fetch to another origin went through');
    const violations = await page.evaluate(() => window.__csp);
    check(violations.length === 1 && /connect-src/.test(violations[0]),
      `CSP violations: expected only the test's own fetch, got ${JSON.stringify(violations)}`);
    const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && u !== 'http://example.invalid/x');
    check(requests.length > 5, `only ${requests.length} requests recorded`);
    check(requests.some((u) => /hybrid-worker/.test(u)), 'the worker\'s requests were not recorded');
    check(foreign.length === 0, `requests to other origins: ${foreign.join(', ')}`);
    check(page.problems.filter((p) => !/example\.invalid|Content Security Policy/.test(p)).length === 0,
      `browser errors: ${page.problems.join(' | ')}`);
    console.log(`  [${mode.name}] ${requests.length} requests, all to ${origin}; the policy refused ${violations[0]}`);
  } finally {
    await browser.close();
  }
});
process.exit(failed ? 1 : 0);
