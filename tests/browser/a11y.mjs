// Accessibility and readability of every view, with WebGPU (SwiftShader) and without:
// axe-core (npm) finds no critical, serious or moderate violation on any view, in the
// default look and in presenter mode; chart axis labels are at least 12 px on screen;
// the view tabs follow the WAI-ARIA tabs pattern (arrow keys, Home, End); the file button
// shows a focus ring; the intro shows on a first visit, keeps Generate above the fold at
// 1280x720, and stays dismissed after a reload; presenter mode redraws charts and maps
// larger and sharp (canvas backing store = displayed size x devicePixelRatio).
// Env: HYBRID_URL, HYBRID_MODES, CHROMIUM.
import { axe } from './lib/axe.mjs';
import { URL_UNDER_TEST, check, openPage, runInModes, status } from './lib/chromium.mjs';

const MODELS = 'test-random,test-random-mamba';

/** The smallest on-screen font size (px) of the charts' tick and axis labels, and how many. */
const chartLabelSizes = (page) =>
  page.$$eval('figure.chart svg text', (texts) => {
    // the screen transform's scale (rotation-proof: the y axis title is turned 90 degrees)
    const scale = (m) => (m ? Math.hypot(m.a, m.b) : 0);
    const sizes = texts.map((t) => parseFloat(getComputedStyle(t).fontSize) * scale(t.getScreenCTM()));
    return { n: sizes.length, min: sizes.length ? Math.min(...sizes) : 0 };
  });

async function openView(page, id) {
  await page.click(`#tab-${id}`);
  await page.waitForFunction((v) => window.__hybrid_status?.view === v, id);
  if (id === 'attention' || id === 'state') {
    await page.waitForFunction(() => window.__hybrid_status?.models.every((m) => m.analysis));
    await page.waitForSelector('main canvas.heatmap');
  }
  await page.waitForTimeout(200);
}

const { failed } = await runInModes('a11y', async (mode) => {
  const { browser, page } = await openPage(mode);
  try {
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${URL_UNDER_TEST}#view=compare&models=${MODELS}`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__hybrid_status?.state === 'ready' && window.__hybrid_status.models.length === 2);

    // First visit: the intro is open, and Generate is visible without scrolling.
    check(await page.isVisible('#intro'), 'the intro does not show on a first visit');
    const gen = await page.$eval('#generate', (e) => e.getBoundingClientRect().bottom);
    check(gen > 0 && gen <= 720, `Generate is below the fold at 1280x720 with the intro open (bottom ${gen} px)`);
    check((await axe(page)).length === 0, `axe with the intro open: ${(await axe(page)).join('; ')}`);
    await page.click('#intro-dismiss');
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => window.__hybrid_status?.state === 'ready');
    check(!(await page.isVisible('#intro')), 'the intro shows again after it was dismissed and the page reloaded');

    // Something to show in Compare.
    await page.fill('#max-tokens', '8');
    await page.fill('#temperature', '0');
    await page.click('#generate');
    await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.state));
    check((await status(page)).state === 'done', 'generation failed');

    // Tabs: arrow keys, Home and End move the selection and the focus; one tab stop.
    const views = await page.$$eval('[role=tab]', (ts) => ts.map((t) => t.id.replace(/^tab-/, '')));
    check(views.length >= 5, `tabs: ${views}`);
    await page.focus('#tab-compare');
    await page.keyboard.press('ArrowRight');
    let s = await status(page);
    let focused = await page.evaluate(() => document.activeElement?.id);
    check(s.view === views[1] && focused === `tab-${views[1]}`, `ArrowRight: view ${s.view}, focus ${focused}`);
    await page.keyboard.press('End');
    focused = await page.evaluate(() => document.activeElement?.id);
    check((await status(page)).view === views.at(-1) && focused === `tab-${views.at(-1)}`, `End: focus ${focused}`);
    await page.keyboard.press('ArrowRight');
    check((await status(page)).view === views[0], 'ArrowRight on the last tab wraps to the first');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Home');
    check((await status(page)).view === views[0], 'Home opens the first view');
    const stops = await page.$$eval('[role=tab]', (ts) => ts.filter((t) => t.tabIndex === 0).length);
    check(stops === 1, `${stops} tabs in the tab order; the pattern has one`);

    // The file button shows a focus ring.
    await page.focus('#checkpoint-files');
    const ring = await page.$eval('.file-button', (l) => getComputedStyle(l).outlineStyle);
    check(ring !== 'none', 'the checkpoint file button has no focus ring');

    // The Interventions panel (under Compare, Attention and State) open: its form too.
    await page.click('#iv-toggle');
    await page.waitForSelector('#iv-kind');

    // Every view: axe clean; chart labels >= 12 px.
    for (const large of [false, true]) {
      if (large) {
        await page.click('#toggle-large');
        await page.waitForFunction(() => document.documentElement.hasAttribute('data-large'));
      }
      for (const v of views) {
        await openView(page, v);
        const problems = await axe(page);
        check(problems.length === 0, `axe on ${v}${large ? ' (presenter)' : ''}: ${problems.join('; ')}`);
        const labels = await chartLabelSizes(page);
        if (v === 'scaling' || v === 'state') check(labels.n > 0, `${v}: no chart labels found`);
        check(labels.min >= (large ? 16 : 12) || labels.n === 0, `${v}${large ? ' (presenter)' : ''}: a chart label is ${labels.min.toFixed(1)} px`);
      }
    }

    // Presenter mode redraws larger and sharp.
    await openView(page, 'state');
    const chartW = Number(await page.getAttribute('#state-memory-chart', 'width'));
    const map = await page.$eval('main canvas.heatmap', (c) => ({ w: c.width, cw: c.clientWidth, h: c.height, ch: c.clientHeight, dpr: devicePixelRatio }));
    check(Math.abs(map.w - Math.floor(map.cw * map.dpr)) <= 1 && Math.abs(map.h - Math.floor(map.ch * map.dpr)) <= 1,
      `heatmap backing store ${map.w}x${map.h} is not its displayed size ${map.cw}x${map.ch} x dpr ${map.dpr}`);
    await page.click('#toggle-large');
    await page.waitForFunction(() => !document.documentElement.hasAttribute('data-large'));
    await page.waitForTimeout(200);
    const chartW1 = Number(await page.getAttribute('#state-memory-chart', 'width'));
    const map1 = await page.$eval('main canvas.heatmap', (c) => c.clientHeight);
    check(chartW > chartW1 * 1.3, `presenter chart width ${chartW} vs ${chartW1}`);
    check(map.ch > map1 * 1.3, `presenter heatmap height ${map.ch} vs ${map1}`);
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);
    console.log(`  [${mode.name}] views ${views.join(', ')}; axe clean in default and presenter mode`);
  } finally {
    await browser.close();
  }
});
process.exit(failed ? 1 : 0);
