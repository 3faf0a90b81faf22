// Shared helpers for the browser tests: launching Debian's headless Chromium through
// playwright-core (never a downloaded browser), and small assertion/reporting utilities.
// A test fails loudly rather than pass having run nothing: HYBRID_MODES is checked, and
// a mode (or a whole test file) that made no `check` fails.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

/** Flags that keep headless Chromium off the (closed) network; see docs in README.md. */
export const BASE_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The two browsers every test runs in: with WebGPU (SwiftShader) and without. */
export const ALL_MODES = [
  { name: 'webgpu', webgpu: true, flags: [...BASE_FLAGS, '--enable-unsafe-webgpu'] },
  { name: 'no-webgpu', webgpu: false, flags: BASE_FLAGS },
];

/** The modes named by `spec` (HYBRID_MODES: comma-separated names; unset = all). A name
 * that is not a mode, or a set that names none (`HYBRID_MODES=` or `,`), is an error
 * listing the valid modes: a typo must not leave a test that runs nothing and passes. */
export function parseModes(spec) {
  if (spec === undefined) return ALL_MODES;
  const valid = ALL_MODES.map((m) => m.name);
  const names = spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = names.filter((n) => !valid.includes(n));
  if (unknown.length > 0) {
    throw new Error(`HYBRID_MODES=${JSON.stringify(spec)}: unknown mode(s) ${unknown.join(', ')}; valid modes: ${valid.join(', ')}`);
  }
  if (names.length === 0) {
    throw new Error(`HYBRID_MODES=${JSON.stringify(spec)} names no mode; valid modes: ${valid.join(', ')} (unset it for all)`);
  }
  return ALL_MODES.filter((m) => names.includes(m.name));
}

export const MODES = parseModes(process.env.HYBRID_MODES);

export const URL_UNDER_TEST = process.env.HYBRID_URL ?? 'http://127.0.0.1:8080/';
export const TIMEOUT_MS = Number(process.env.HYBRID_TEST_TIMEOUT_MS ?? 10 * 60 * 1000);

export function screenshotDir() {
  const dir = process.env.HYBRID_SCREENSHOT_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hybrid-browser-'));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Launches Chromium; collects console errors and uncaught page errors into `page.problems`.
 * `options` go to `newPage` (e.g. `{ serviceWorkers: 'block' }` for a test that intercepts
 * requests with `page.route`: requests a service worker makes are not routed). */
/** Starts Chromium; a start that crashes (seen once on a loaded 2-core machine:
 * "Target page, context or browser has been closed" at launch) is tried once more, and said.
 * Only the browser's start is retried, never a test. */
async function launch(executablePath, args) {
  const start = () => chromium.launch({ executablePath, headless: true, args, timeout: 120_000 });
  try {
    return await start();
  } catch (e) {
    console.log(`  Chromium did not start (${String(e.message).split('\n')[0]}); trying once more`);
    return await start();
  }
}

export async function openPage(mode, options = {}) {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath} (run scripts/setup.sh)`);
  const browser = await launch(executablePath, mode.flags);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, ...options });
  page.setDefaultTimeout(TIMEOUT_MS);
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console.error: ${m.text()}`);
  });
  page.on('crash', () => page.problems.push('the page crashed'));
  return { browser, page };
}

export class TestFailure extends Error {}

/** Checks made (passed or not) and modes run, in this process: a test that made none
 * fails at exit (see the 'exit' hook below). */
export const counts = { checks: 0, modes: 0 };

export function check(cond, message) {
  counts.checks++;
  if (!cond) throw new TestFailure(message);
}

/** Runs `body(mode)` in every mode; prints PASS/FAIL per mode; exits non-zero on failure.
 * A mode whose body made no check fails: it tested nothing. */
export async function runInModes(title, body) {
  let failed = 0;
  const results = {};
  for (const mode of MODES) {
    const started = Date.now();
    const before = counts.checks;
    counts.modes++;
    try {
      results[mode.name] = await body(mode);
      const made = counts.checks - before;
      if (made === 0) throw new TestFailure('the test made no check in this mode: it tested nothing');
      console.log(`PASS ${title} [${mode.name}] (${made} checks, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      console.error(`FAIL ${title} [${mode.name}]: ${e instanceof TestFailure ? e.message : e.stack ?? e}`);
    }
  }
  return { failed, results };
}

// A test file that ran no mode or made no check fails, whatever exit code it asked for:
// "passed having run nothing" is the failure this guards against.
process.on('exit', (code) => {
  if (code === 0 && (counts.modes === 0 || counts.checks === 0)) {
    console.error(`FAIL ${process.argv[1] ?? 'test'}: ran ${counts.modes} mode(s) and ${counts.checks} check(s): it tested nothing`);
    process.exitCode = 1;
  }
});

/** Chooses the GPU engine as the badge's switch does (localStorage, before the page's
 * scripts run): on SwiftShader the page would pick the CPU engine by itself. */
export async function preferGpu(page) {
  await page.addInitScript(() => {
    try {
      localStorage.setItem('hybrid.engine', 'gpu');
    } catch {
      // about:blank has no storage
    }
  });
}

export const status = (page) => page.evaluate(() => window.__hybrid_status ?? null);

/** Opens the page at `hash`, loads `model`, generates `tokens` greedy tokens after
 * `prompt`, and returns what the page reports (status, badge text, engines used).
 * `base`: the served page (default HYBRID_URL). */
export async function greedy(page, hash, model, prompt, tokens, base = URL_UNDER_TEST) {
  const url = new URL(base);
  url.hash = hash;
  await page.goto('about:blank');
  await page.goto(url.toString(), { waitUntil: 'load' });
  await page.waitForFunction(() => window.__hybrid_status && window.__hybrid_status.engine !== 'checking');
  await page.waitForFunction(
    (id) => {
      const s = window.__hybrid_status;
      return s && s.model === id && (s.state === 'ready' || s.state === 'error');
    },
    model,
  );
  let s = await status(page);
  check(s.state === 'ready', `model ${model} did not load: ${JSON.stringify(s.errors)}`);
  await page.fill('#prompt', prompt);
  await page.fill('#max-tokens', String(tokens));
  await page.fill('#temperature', '0');
  await page.click('#generate');
  await page.waitForSelector('#output:is([data-state=done], [data-state=error], [data-state=stopped])', {
    timeout: TIMEOUT_MS,
  });
  s = await status(page);
  check(s.state === 'done', `generation ended in state ${s.state}: ${JSON.stringify(s.errors)}`);
  return {
    s,
    badge: (await page.textContent('#backend-badge')).replace(/\s+/g, ' ').trim(),
    engine: await page.getAttribute('#backend-badge', 'data-backend'),
    backend: await page.getAttribute('#output', 'data-backend'),
  };
}
