// Browser test: the Interventions panel (issue #11), with WebGPU (the GPU engine chosen,
// as the badge's switch does) and without. Interventions run on the CPU engine in both
// modes (the panel labels it). A link with a set on shakespeare-inter reproduces it: the
// loss over the held-out passage without and with a window is finite and differs. Then,
// in the same page, the Findings view's "retrieval" card's demo button opens Compare with
// recall-intra and applies `L1.attn=0`: the panel's recall accuracy without and with it
// must equal the CLI's on the same cases (interventions-expected.json, written by
// `hybrid recall`); the maps up to layer 1 must not change and the later ones must. Then a
// set of two interventions built with the form (`L1.ssm=0 L2.ssm_reset@128`), against the
// CLI too; a set the model lacks is a message, not a panic; the empty set gives identical
// numbers. HYBRID_IV_TIMES=1 prints when each part ended.
// Env: HYBRID_URL, HYBRID_MODES (webgpu,no-webgpu), HYBRID_TEST_TIMEOUT_MS, CHROMIUM.
import fs from 'node:fs';
import { check, openPage, preferGpu, runInModes, status, URL_UNDER_TEST } from './lib/chromium.mjs';

const expected = JSON.parse(fs.readFileSync(new URL('./interventions-expected.json', import.meta.url), 'utf8'));
const cli = (set) => {
  const e = expected.sets.find((x) => x.set === set);
  if (!e) throw new Error(`interventions-expected.json has no set ${JSON.stringify(set)}`);
  return e.accuracy_pct;
};
const ENGINE = 'CPU (wasm)';
const WINDOW = 'L1.window=64 L4.window=64';
const t0 = Date.now();
const mark = (what) => process.env.HYBRID_IV_TIMES && console.log(`  ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
const iv = (page) => page.evaluate(() => window.__hybrid_iv ?? null);

/** Clicks Apply and waits for the A/B to end; returns the panel's state. */
async function apply(page, what) {
  await page.waitForFunction(() => window.__hybrid_iv && !window.__hybrid_iv.busy);
  await page.click('#iv-apply');
  return settled(page, what);
}

/** Waits for a finished A/B holding `what` ('recall' or 'loss') or a refusal. */
async function settled(page, what) {
  await page.waitForFunction((what) => {
    const s = window.__hybrid_iv;
    return s && !s.busy && (s.error || s[what]);
  }, what);
  return iv(page);
}

/** Checks the recall A/B of `set` against the CLI. */
function recallMatches(s, set, label) {
  check(!s.error, `${label}: refused: ${s.error}`);
  const r = s.recall;
  check(r && !r.error, `${label}: no recall: ${JSON.stringify(r)}`);
  check(r.cases === expected.cases && r.engine === ENGINE, `${label}: ${r.cases} cases on ${r.engine}`);
  check(r.before.percent === cli(''), `${label}: without: page ${r.before.percent}%, CLI ${cli('')}%`);
  check(r.after.percent === cli(set), `${label}: with ${set}: page ${r.after.percent}%, CLI ${cli(set)}%`);
  return r;
}

const { failed } = await runInModes('interventions', async (mode) => {
  const { browser, page } = await openPage(mode);
  if (mode.webgpu) await preferGpu(page);
  try {
    // A link with a set reproduces it: the loss A/B over the held-out passage.
    const url = new URL(URL_UNDER_TEST);
    url.hash = `view=compare&models=shakespeare-inter&iv_cases=${expected.cases}&iv=${encodeURIComponent(WINDOW)}`;
    await page.goto(url.toString(), { waitUntil: 'load' });
    mark('page loaded');
    let s = await settled(page, 'loss');
    mark('loss applied');
    check(s.applied?.[0] === 'shakespeare-inter' && s.text === WINDOW, `link: applied ${JSON.stringify(s.applied)}, text ${s.text}`);
    const l = s.loss;
    check(l && !l.error && l.engine === ENGINE && l.tokens === 1024, `loss: ${JSON.stringify(l)}`);
    check(l.finite && !l.identical && l.before[1] !== l.after[1], `loss with a window: ${JSON.stringify(l)}`);
    check(s.recall === null, 'recall ran on a text model');
    check(await page.isVisible('#chart-iv-loss'), 'no loss chart');
    // the empty set: both curves identical, and the same as the run without before
    await page.fill('#iv-text', '');
    s = await apply(page, 'loss');
    const e = s.loss;
    check(e && e.identical && e.before.every((x, i) => x === l.before[i]), `loss, empty set: ${JSON.stringify(e)} after ${JSON.stringify(l)}`);

    // A finding's demo: Compare, recall-intra, the panel open with L1.attn=0 applied.
    await page.click('#tab-findings');
    await page.click('#finding-retrieval .iv-demo');
    s = await settled(page, 'recall');
    mark('demo applied');
    const st = await status(page);
    check(st.view === 'compare' && st.models[0]?.id === 'recall-intra', `demo: view ${st.view}, models ${JSON.stringify(st.models)}`);
    check(s.applied?.[0] === 'recall-intra', `demo applied to ${JSON.stringify(s.applied)}`);
    let r = recallMatches(s, 'L1.attn=0', 'demo');
    check(r.after.right < r.before.right, `zeroing the attention branch: recall ${r.before.right} -> ${r.after.right}`);
    check(await page.isVisible('#iv-panel'), 'the panel is not open');
    const shown = await page.textContent('#iv-acc-after');
    check((await page.textContent('#iv-recall')).includes(ENGINE), 'the recall part does not name its engine');
    check(shown.startsWith(`${cli('L1.attn=0')}%`), `shown accuracy ${shown}`);
    const ch = s.maps?.changes ?? [];
    // Layers 0 and 1 compute their maps before the zeroed output is added; 2 and 3 read it.
    check(ch.length === 4 && ch[0] === 0 && ch[1] === 0 && ch[2] > 0 && ch[3] > 0, `map changes per layer ${JSON.stringify(s.maps)}`);
    const hash = await page.evaluate(() => location.hash);
    check(hash.includes('iv=L1.attn%3D0') && hash.includes('iv_open=true'), `hash ${hash}`);

    // Two interventions built with the form.
    await page.click('#iv-clear');
    await page.selectOption('#iv-kind', 'ssm');
    await page.selectOption('#iv-layer', '1');
    await page.fill('#iv-value', '0');
    await page.click('#iv-add');
    await page.selectOption('#iv-kind', 'ssm_reset');
    await page.selectOption('#iv-layer', '2');
    await page.fill('#iv-at', '128');
    await page.click('#iv-add');
    const built = await page.inputValue('#iv-text');
    const two = expected.sets[2].set;
    check(built === two, `the form built "${built}", want "${two}"`);
    s = await apply(page, 'recall');
    recallMatches(s, two, 'form');
    mark('form set applied');

    // A set the model lacks: a message, the page goes on.
    await page.fill('#iv-text', 'L0.attn=0');
    await page.click('#iv-apply');
    await page.waitForSelector('[data-testid=iv-error]');
    const msg = await page.textContent('[data-testid=iv-error]');
    check(/layer 0/.test(msg) && /intra/.test(msg), `error message: ${msg}`);

    // The empty set: the model as trained, identical numbers.
    await page.fill('#iv-text', '');
    s = await apply(page, 'recall');
    r = recallMatches(s, '', 'empty set');
    check(r.identical && s.maps.changes.every((c) => c === 0), `empty set: recall identical ${r.identical}, map changes ${s.maps.changes}`);

    check(page.problems.length === 0, `page problems: ${page.problems.join('; ')}`);
    console.log(`  [${mode.name}] loss 0-255 / 256-1023: without ${l.before.map((x) => x.toFixed(3))}, with ${WINDOW}: ${l.after.map((x) => x.toFixed(3))}`);
  } finally {
    await browser.close();
  }
});
process.exit(failed ? 1 : 0);
