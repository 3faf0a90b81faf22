// Screenshots of every view of the served page (HYBRID_URL), at 1440x900 and 1280x720, on
// the CPU engine (no WebGPU), with two trained zoo models: the inter hybrid and the
// Transformer; then every step of the guided tour at 1280x720 with the step's own zoo
// models (the step's figure computed, its sweep or generation run). Writes
// <out>/<view>-<width>x<height><suffix>.png and <out>/tour-<N>-1280x720<suffix>.png
// (viewport only, so the PNGs stay small). Views the page does not have are skipped and listed.
// Usage: HYBRID_URL=... node scripts/screenshots.mjs <out-dir> [suffix] [presenter]
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

// the flags of tests/browser/lib/chromium.mjs (that module's exit check is for tests)
const BASE_FLAGS = ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];
const out = process.argv[2] ?? 'docs/screenshots';
const suffix = process.argv[3] ?? '';
const presenter = process.argv[4] === 'presenter';
const url = process.env.HYBRID_URL ?? 'http://127.0.0.1:8080/';
const MODELS = 'shakespeare-inter,shakespeare-transformer';
const PROMPT = 'ROMEO:\nBut soft, what light through yonder window breaks?';
const VIEWPORTS = presenter ? [[1280, 720]] : [[1440, 900], [1280, 720]];
fs.mkdirSync(out, { recursive: true });

/** Walks the tour from `#tour=1` with the arrow key; at each step waits for its models, runs
 * what the step asks (the sweep at 128..1024 tokens, a one-token recall answer), waits for
 * its computed figure, brings the figure under the tour panel and takes a screenshot. */
async function tour(page, name) {
  await page.goto('about:blank');
  await page.goto(`${url}#tour=1&sweep_min=128&sweep_max=1024${presenter ? '&large=1' : ''}`, { waitUntil: 'load' });
  await page.waitForSelector('#tour .tour-count');
  const steps = await page.textContent('#tour .tour-count');
  const n = Number(/of (\d+)/.exec(steps)?.[1] ?? 0);
  if (n === 0) throw new Error(`no tour panel at #tour=1 (${steps})`);
  for (let i = 1; i <= n; i++) {
    if (i > 1) await page.locator('body').press('ArrowRight');
    await page.waitForFunction((i) => window.__hybrid_paper?.tour === i, i);
    await page.waitForFunction(() => {
      const s = window.__hybrid_status;
      return s?.models?.length > 0 && s.models.every((m) => m.load === 'ready');
    });
    const view = (await page.evaluate(() => window.__hybrid_status.view));
    if (view === 'scaling') {
      await page.click('#sweep-run');
      await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.sweep.run));
    } else if (view === 'compare') {
      await page.fill('#max-tokens', '1');
      await page.fill('#temperature', '0');
      await page.click('#generate');
      await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.state));
    } else if (view === 'attention') {
      await page.waitForFunction(() => window.__hybrid_status?.models.every((m) => m.analysis));
      await page.waitForSelector('main canvas');
    }
    const figure = await page.evaluate(() => window.__hybrid_paper.figure);
    await page.waitForFunction((f) => {
      const p = window.__hybrid_paper;
      const computed = p.figures[f];
      return !p.busy && (!f || !computed || f === 'ablation' || computed.length > 0 || p.error);
    }, figure);
    await page.evaluate((f) => {
      const el = f && document.getElementById(`fig-${f}`);
      // no figure: the tour panel at the top, the view under it
      if (!el) return document.getElementById('tour')?.scrollIntoView();
      el.scrollIntoView();
      window.scrollBy(0, -(document.getElementById('tour')?.offsetHeight ?? 0) - 8);
    }, figure);
    await page.waitForTimeout(300);
    await page.screenshot({ path: name(i) });
  }
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: BASE_FLAGS });
const missing = new Set();
try {
  for (const [width, height] of VIEWPORTS) {
    const page = await browser.newPage({ viewport: { width, height } });
    page.setDefaultTimeout(120_000);
    const name = (view) => path.join(out, `${view}-${width}x${height}${suffix}.png`);
    const hash = `#view=compare&models=${MODELS}&prompt=${encodeURIComponent(PROMPT)}${presenter ? '&large=1' : ''}`;
    // the first visit (intro open, before anything is dismissed)
    await page.goto(url + hash, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__hybrid_status?.state === 'ready' && window.__hybrid_status.models.length === 2);
    await page.screenshot({ path: name('first-visit') });
    const dismiss = await page.$('#intro-dismiss');
    if (dismiss) await dismiss.click();
    if (presenter && (await page.getAttribute('#toggle-large', 'aria-pressed')) !== 'true') await page.click('#toggle-large');
    await page.fill('#max-tokens', '40');
    await page.fill('#temperature', '0');
    await page.click('#generate');
    await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.state));
    const top = async () => page.$eval('.tabs', (e) => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 8));
    await top();
    await page.screenshot({ path: name('compare') });
    for (const view of ['attention', 'state', 'scaling', 'architecture', 'findings']) {
      if (!(await page.$(`#tab-${view}`))) { missing.add(view); continue; }
      await page.click(`#tab-${view}`);
      if (view === 'attention' || view === 'state') {
        await page.waitForFunction(() => window.__hybrid_status?.models.every((m) => m.analysis));
        await page.waitForSelector('main canvas');
      }
      if (view === 'scaling') {
        await page.selectOption('#sweep-max', '1024');
        await page.click('#sweep-run');
        await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.sweep.run));
      }
      await page.waitForTimeout(300);
      await top();
      await page.screenshot({ path: name(view) });
    }
    if (width === 1280) await tour(page, (n) => path.join(out, `tour-${n}-${width}x${height}${suffix}.png`));
    await page.close();
  }
} finally {
  await browser.close();
}
if (missing.size) console.log(`views not in this page: ${[...missing].join(', ')}`);
console.log(`screenshots in ${out}`);
