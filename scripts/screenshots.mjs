// Screenshots of every view of the served page (HYBRID_URL), at 1440x900 and 1280x720, on
// the CPU engine (no WebGPU), with two trained zoo models: the inter hybrid and the
// Transformer. Writes <out>/<view>-<width>x<height><suffix>.png (viewport only, so the PNGs
// stay small). Views the page does not have are skipped and listed.
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
    await page.close();
  }
} finally {
  await browser.close();
}
if (missing.size) console.log(`views not in this page: ${[...missing].join(', ')}`);
console.log(`screenshots in ${out}`);
