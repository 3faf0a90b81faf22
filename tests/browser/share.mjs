// Browser test of sharing and offline use, with WebGPU and without:
// - the link holds the state: an Architecture design (preset, concat fusion, a layer
//   added, context), sampling seed and view survive a reload from the link alone;
// - numeric fields say what is wrong (-5, 0, 99999999999) instead of guessing;
// - switching to a recall model replaces an unreadable prompt by its preset, says why,
//   and generation works with it;
// - a heatmap exports as a non-empty PNG and a chart as a valid SVG;
// - after one visit, a reload with the network off still loads the page and the model
//   and generates (service worker).
// It serves dist/ itself (HYBRID_DIST), so that "offline" is a server that is gone, not
// only the browser's offline switch.
// Env: HYBRID_DIST, HYBRID_MODES, CHROMIUM, HYBRID_TEST_TIMEOUT_MS.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, openPage, runInModes, status } from './lib/chromium.mjs';

const RECALL = 'recall-inter';

async function waitReady(page, model) {
  await page.waitForFunction((id) => {
    const s = window.__hybrid_status;
    return s && s.model === id && (s.state === 'ready' || s.state === 'error' || s.state === 'done');
  }, model);
  const s = await status(page);
  check(s.state !== 'error', `${model} did not load: ${JSON.stringify(s.errors)}`);
}

async function generateGreedy(page, tokens) {
  await page.click('#tab-compare');
  await page.fill('#max-tokens', String(tokens));
  await page.fill('#temperature', '0');
  await page.click('#generate');
  await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.state));
  const s = await status(page);
  check(s.state === 'done' && s.generated === tokens, `generation: ${s.state}, ${s.generated} tokens, ${JSON.stringify(s.errors)}`);
  return s;
}

async function fieldError(page, id, value) {
  await page.fill(id, value);
  const err = await page.textContent(`${id}-error`).catch(() => null);
  check(err && /whole number|minimum|maximum|negative/.test(err), `${id}=${value}: no message, got ${err}`);
}

/** Sets a design and a seed; returns what must come back from the link. */
async function setArchitecture(page) {
  await page.click('#tab-architecture');
  await page.selectOption('#arch-preset', 'playground-intra');
  await page.selectOption('#arch-fusion', 'concat');
  const invalid = await page.$('#arch-invalid');
  check(invalid === null, `concat gives an error: ${invalid && await invalid.textContent()}`);
  const eq = await page.textContent('#arch-equivalent');
  check(/W \[a \| s\] = W_a a \+ W_s s/.test(eq), `no equivalence pointed out for concat: ${eq}`);
  check(await page.inputValue('#arch-out-proj') === 'joint', 'concat did not switch to the joint projection');
  await page.click('#arch-add-layer');
  for (const bad of ['-5', '0', '99999999999']) await fieldError(page, '#arch-context', bad);
  await page.fill('#arch-context', '2048');
  await page.waitForSelector('#arch-numbers[data-context="2048"]');
  const params = await page.getAttribute('#arch-numbers', 'data-params');
  // settings of other views travel too
  await page.click('#tab-compare');
  await page.fill('#seed', '7');
  await page.click('#tab-architecture');
  check(await page.inputValue('#arch-fusion') === 'concat', 'the design reverted after a change of view');
  const hash = await page.evaluate(() => location.hash);
  check(/arch=/.test(hash) && /seed=7/.test(hash) && /ctx=2048/.test(hash), `link misses settings: ${hash}`);
  const config = await page.getAttribute('#download-config', 'href');
  check(config.startsWith('data:application/json') && /concat/.test(decodeURIComponent(config)), 'config.json link');
  return { hash, params, prompt: await page.inputValue('#prompt') };
}

/** After a reload from the link alone: the same state. */
async function checkRestored(page, want) {
  check(await page.evaluate(() => location.hash) === want.hash, 'the link changed on reload');
  check(await page.evaluate(() => window.__hybrid_status.view) === 'architecture', 'view not restored');
  check(await page.inputValue('#arch-preset') === 'playground-intra', 'preset not restored');
  check(await page.inputValue('#arch-fusion') === 'concat', 'fusion not restored');
  await page.waitForSelector('#arch-numbers[data-context="2048"]');
  check(await page.getAttribute('#arch-numbers', 'data-params') === want.params, 'a different design came back');
  check(await page.locator('#view-architecture .block').count() === 9, 'the added layer was lost');
  await page.click('#tab-compare');
  check(await page.inputValue('#seed') === '7', 'seed not restored');
  check(await page.inputValue('#prompt') === want.prompt, 'prompt not restored');
}

async function presetOnSwitch(page) {
  await waitReady(page, 'test-random');
  await page.selectOption('#model', RECALL);
  await waitReady(page, RECALL);
  await page.waitForSelector('[data-testid=prompt-switched]');
  const prompt = await page.inputValue('#prompt');
  check(/^<bos> k\d+ v\d+/.test(prompt), `prompt is not a recall preset: ${prompt}`);
  const said = await page.textContent('[data-testid=prompt-switched]');
  check(/cannot read/.test(said) && /right answer is v\d+/.test(said), `no reason given: ${said}`);
  await generateGreedy(page, 2);
}

async function exportFigures(page) {
  await page.click('#tab-state');
  await page.waitForSelector('#main canvas.heatmap');
  await page.focus('#export-figure');
  const labels = await page.$$eval('#export-figure option', (o) => o.map((x) => x.textContent));
  check(labels.length > 0, 'no figure to export in the State view');
  const canvasAt = labels.findIndex((l) => /State norm|dt per head/.test(l));
  const svgAt = labels.findIndex((l) => /against/.test(l));
  check(canvasAt >= 0 && svgAt >= 0, `figures offered: ${labels.join(' | ')}`);
  await page.selectOption('#export-figure', String(canvasAt));
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
  const bytes = fs.readFileSync(await png.path());
  check(bytes.length > 1000 && bytes.subarray(1, 4).toString() === 'PNG', `PNG: ${bytes.length} bytes`);
  await page.selectOption('#export-figure', String(svgAt));
  const [svg] = await Promise.all([page.waitForEvent('download'), page.click('#export-svg')]);
  const text = fs.readFileSync(await svg.path(), 'utf8');
  const ok = await page.evaluate((t) => {
    const doc = new DOMParser().parseFromString(t, 'image/svg+xml');
    return !doc.querySelector('parsererror') && doc.documentElement.localName === 'svg'
      && doc.querySelectorAll('path, circle, text').length > 5;
  }, text);
  check(ok, `SVG does not parse: ${text.slice(0, 200)}`);
}

/** Its own static server on dist/ (HYBRID_DIST), so "offline" is a server that is gone. */
async function ownServer() {
  const dir = process.env.HYBRID_DIST ?? 'dist';
  check(fs.existsSync(path.join(dir, 'index.html')), `no ${dir}/index.html: build the page first`);
  const urlFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hybrid-share-')), 'url');
  const server = spawn(process.execPath, ['scripts/static-server.mjs', dir, '--port', '0', '--url-file', urlFile], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !fs.existsSync(urlFile); i++) await new Promise((r) => setTimeout(r, 100));
  check(fs.existsSync(urlFile), 'the static server did not start');
  return { server, url: fs.readFileSync(urlFile, 'utf8').trim() };
}

async function waitStored(page) {
  await page.waitForFunction((id) => {
    const el = document.querySelector('#offline-status');
    return el && Number(el.dataset.files) > 3 && el.textContent.includes(id);
  }, RECALL, { timeout: 60_000 });
  const said = await page.textContent('#offline-status');
  check(/Stored for offline use: \d+ files, [\d.]+ [KM]i?B/.test(said), `offline status: ${said}`);
}

const { failed } = await runInModes('share', async (mode) => {
  const { browser, page } = await openPage(mode);
  try {
    const t0 = Date.now();
    const lap = (what) => console.log(`  ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const { server, url } = await ownServer();
    let want;
    try {
      await page.goto(`${url}#models=test-random&prompt=The%20cat%20sat`, { waitUntil: 'load' });
      await presetOnSwitch(page);
      lap('preset on model switch');
      await exportFigures(page);
      lap('export');
      want = await setArchitecture(page);
      await waitStored(page);
      lap('architecture, stored');
    } finally {
      server.kill();
    }
    // the server is gone and the browser offline: the page, the model and the state
    // must all come back from the service worker and the link
    await page.context().setOffline(true);
    await page.goto('about:blank');
    await page.goto(`${url}${want.hash}`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__hybrid_status && window.__hybrid_status.engine !== 'checking');
    await waitReady(page, RECALL);
    await checkRestored(page, want);
    await generateGreedy(page, 2);
    lap('offline reload from the link');
    check(page.problems.length === 0, `page problems: ${page.problems.join('; ')}`);
  } finally {
    await browser.close();
  }
});
process.exit(failed ? 1 : 0);
