// Browser test: the guided tour, walked with the keyboard from `#tour=1`, with WebGPU (the
// GPU engine chosen, as the badge's switch does: models run on SwiftShader) and without
// (the CPU engine). At each step: the tour step, the URL (`tour=N`), the view and the
// models the step sets, and one number of the step's figure compared with the committed
// metrics (assets/models/*/metrics.json, train/atlas/<task>/*.json, atlas-run/1, and
// train/atlas/summary.json: docs/METRICS.md) or with what the engine must give (the
// recall answer v200, a loss rise beyond the training length, attention rows that sum to
// 1), and the engine that computed it. The Scaling step sweeps 128..1024 tokens from the
// link (`sweep_min`, `sweep_max`): the first point comes from the mode's engine, then
// Cancel stops the sweep.
// Env: HYBRID_URL, HYBRID_MODES (webgpu,no-webgpu), HYBRID_TEST_TIMEOUT_MS, CHROMIUM.
import fs from 'node:fs';
import { check, openPage, preferGpu, runInModes, status, URL_UNDER_TEST } from './lib/chromium.mjs';

const read = (p) => JSON.parse(fs.readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8'));
const metrics = (id) => read(`assets/models/${id}/metrics.json`);
const TEXT4 = ['shakespeare-transformer', 'shakespeare-mamba2', 'shakespeare-inter', 'shakespeare-intra-concat'];
const RECALL3 = ['recall-transformer', 'recall-mamba2', 'recall-intra'];
// The steps of app/src/paper/tour.rs: view, models.
const STEPS = [
  ['findings', TEXT4],
  ['findings', TEXT4],
  ['scaling', TEXT4],
  ['findings', ['shakespeare-transformer', 'shakespeare-mamba2', 'shakespeare-intra']],
  ['compare', RECALL3],
  ['findings', RECALL3],
  ['attention', ['shakespeare-inter']],
  ['findings', RECALL3],
];
const near = (a, b, tol) => typeof a === 'number' && Math.abs(a - b) <= tol;
const paperState = (page) => page.evaluate(() => window.__hybrid_paper ?? null);

/** Waits until every slot holds the step's models, loaded. */
async function modelsIn(page, models) {
  await page.waitForFunction((want) => {
    const s = window.__hybrid_status;
    if (!s || !Array.isArray(s.models)) return false;
    const got = s.models.map((m) => m.id);
    return JSON.stringify(got) === JSON.stringify(want) && s.models.every((m) => m.load === 'ready');
  }, models);
}

/** Waits for a computed figure to hold `n` entries (or a failure); with `cancel`, then
 * presses the figure's Cancel and checks that the run stops there. */
async function figure(page, name, n, cancel = false) {
  try {
    await page.waitForFunction(([name, n, cancel]) => {
      const p = window.__hybrid_paper;
      return p && (p.error || (p.figures[name].length >= n && (cancel || !p.busy)));
    }, [name, n, cancel]);
  } catch (e) {
    const p = await paperState(page);
    check(false, `${name}: no figure (${e.message.split('\n')[0]}); page: busy ${p?.busy}, ${p?.figures[name].length} of ${n}`);
  }
  if (cancel) {
    // a plain DOM click: no Cancel (the run already over) fails the check, never waits
    const pressed = await page.evaluate((name) => {
      const b = [...document.querySelectorAll(`#fig-${name} .compute button`)].find((x) => x.textContent === 'Cancel');
      b?.click();
      return Boolean(b);
    }, name);
    check(pressed, `${name}: no Cancel button while it computes`);
    await page.waitForFunction(() => !window.__hybrid_paper.busy);
    const p = await paperState(page);
    check(p.error === 'Stopped.', `${name}: after Cancel the figure says ${p.error}`);
    return p.figures[name];
  }
  const p = await paperState(page);
  check(!p.error, `${name}: ${p.error}`);
  return p.figures[name];
}

const measured = {};
const { failed } = await runInModes('paper tour', async (mode) => {
  const { browser, page } = await openPage(mode);
  // the engine every engine figure must name in this mode
  const engine = mode.webgpu ? 'WebGPU' : 'CPU (wasm)';
  if (mode.webgpu) await preferGpu(page);
  try {
    const url = new URL(URL_UNDER_TEST);
    url.hash = 'tour=1&sweep_min=128&sweep_max=1024';
    await page.goto(url.toString(), { waitUntil: 'load' });
    await page.waitForFunction(() => window.__hybrid_paper && window.__hybrid_paper.zoo !== 'loading');
    let p = await paperState(page);
    check(p.zoo === 'ready' && p.missing.length === 0, `metrics: ${p.zoo}, not read: ${p.missing.join('; ')}`);
    for (let i = 0; i < STEPS.length; i++) {
      const [view, models] = STEPS[i];
      const started = Date.now();
      if (i > 0) {
        // the Next button on odd steps, the keyboard on even ones: both must move
        if (i % 2) await page.click('#tour-next');
        else await page.locator('body').press('ArrowRight');
      }
      await page.waitForFunction((n) => window.__hybrid_paper?.tour === n, i + 1);
      await page.waitForSelector(`#tour[data-step="${i + 1}"]`);
      await modelsIn(page, models);
      const loaded = ((Date.now() - started) / 1000).toFixed(1);
      const s = await status(page);
      check(s.view === view, `step ${i + 1}: view ${s.view}, want ${view}`);
      const hash = await page.evaluate(() => location.hash);
      check(hash.includes(`tour=${i + 1}`) && hash.includes(`view=${view}`), `step ${i + 1}: hash ${hash}`);
      const label = `[${mode.name}] step ${i + 1} (${view})`;
      const next = (await page.textContent('#tour-next')).trim();
      const last = i + 1 === STEPS.length;
      check(next === 'Next →' && (await page.isDisabled('#tour-next')) === last, `step ${i + 1}: Next button "${next}", disabled ${!last}`);
      if (i === 0) {
        // On SwiftShader a GPU decode step takes seconds: there the first model's point is
        // checked, then Cancel stops the rest (and is checked to); the CPU engine does all 4.
        const q = await figure(page, 'quality', mode.webgpu ? 1 : 4, mode.webgpu);
        const t = q.find((x) => x.id === 'shakespeare-transformer');
        check(t && t.val_loss === metrics(t.id).test.loss, `quality: test loss ${t?.val_loss} vs metrics ${metrics('shakespeare-transformer').test.loss}`);
        check(q.length >= 1 && q.every((x) => x.tokens_per_s > 0), `quality: tokens/s ${q.map((x) => x.tokens_per_s)}`);
        check(q.every((x) => x.engine === engine), `quality engines ${q.map((x) => x.engine)}, want ${engine}`);
        const shown = await page.textContent('#quality-table tbody tr:first-child');
        check(shown.includes(t.val_loss.toFixed(3)) && shown.includes(engine), `quality row ${shown}`);
        measured[`${label} quality: Transformer decode tokens/s on ${engine}`] = t.tokens_per_s.toFixed(2);
      } else if (i === 1) {
        const bytes = await page.getAttribute('#memory-table tbody tr:first-child td:nth-child(5)', 'data-bytes');
        const want = metrics('shakespeare-transformer').cache['8192'].total_bytes;
        check(Number(bytes) === want, `memory at 8K: page ${bytes} vs metrics ${want}`);
        measured[`${label} memory: Transformer cache at 8K f32 (bytes)`] = bytes;
      } else if (i === 2) {
        // the range came from the link
        check(await page.inputValue('#sweep-min') === '128' && await page.inputValue('#sweep-max') === '1024', 'sweep range not from the link');
        await page.click('#sweep-run');
        await page.waitForFunction(() => {
          const w = window.__hybrid_status.sweep;
          return w.points.length >= 1 || ['done', 'error', 'stopped'].includes(w.run);
        });
        // a plain DOM click: a button already disabled (the sweep over) must fail the check below, not wait
        await page.evaluate(() => document.getElementById('sweep-cancel').click());
        await page.waitForSelector('#sweep-status:is([data-state=stopped], [data-state=done], [data-state=error])');
        const w = (await status(page)).sweep;
        check(w.run === 'stopped', `scaling: the sweep ended ${w.run}, not stopped by Cancel (${w.points.length} points)`);
        check(w.points.length >= 1 && w.points.length < 4 * 4, `scaling: ${w.points.length} points after Cancel (of 4 models x 128..1024 tokens)`);
        const pt = w.points[0];
        check(pt.engine === engine && pt.len === 128 && pt.prefill_ms > 0 && pt.decode_ms_per_token > 0,
          `scaling: first point ${JSON.stringify(pt)}, want ${engine}`);
        const row = page.locator('#sweep-table tbody tr').first();
        check(await row.getAttribute('data-engine') === engine, 'scaling: the table does not name the engine');
        const pts = Number(await page.getAttribute('#chart-decode', 'data-measured-points'));
        check(pts === w.points.length, `scaling: chart has ${pts} points, the sweep ${w.points.length}`);
        measured[`${label} scaling: ${pt.model} decode ms/token at 128 on ${pt.engine}`] = pt.decode_ms_per_token.toFixed(1);
      } else if (i === 3) {
        const c = await figure(page, 'position', 3);
        const [t, m] = [c[0], c[1]];
        const tm = metrics('shakespeare-transformer').test.loss_by_position;
        check(t.positions === 1024, `position: ${t.positions} positions`);
        // The shipped passage is the test split's first window (the opening of The Tempest:
        // title and cast list, harder than the average window), metrics.json the mean of 80
        // windows: on it the atlas models give 0-255 Transformer 4.557 vs 3.953 averaged, and
        // every loss falls past 256 tokens, the Transformer's least (-0.036 vs Mamba-2 -0.142;
        // averaged: +0.332 vs -0.009). So: the engine's numbers near the average (1 nat), the
        // direction relative to Mamba-2 with a margin, and the table's metrics column exact.
        check(near(t.mean_in_train_len, tm.mean_in_train_len, 1.0), `position: Transformer 0-255 ${t.mean_in_train_len} vs metrics ${tm.mean_in_train_len}`);
        const [tRise, mRise] = [t.mean_beyond - t.mean_in_train_len, m.mean_beyond - m.mean_in_train_len];
        check(tRise - mRise > 0.03, `position: Transformer rise ${tRise}, Mamba-2 rise ${mRise}`);
        const row = await page.textContent('#fig-position tbody tr:first-child');
        check(row.includes(tm.mean_in_train_len.toFixed(3)) && row.includes(tm.mean_beyond.toFixed(3)), `position table: ${row}`);
        measured[`${label} position: Transformer minus Mamba-2 change of loss past 256 tokens`] = (tRise - mRise).toFixed(3);
      } else if (i === 4) {
        const prompt = await page.inputValue('#prompt');
        check(prompt.endsWith('<sep> k33'), `recall prompt ${JSON.stringify(prompt)}`);
        await page.fill('#max-tokens', '1');
        await page.fill('#temperature', '0');
        await page.click('#generate');
        await page.waitForSelector('#output:is([data-state=done], [data-state=error])');
        const golden = read('assets/models/recall-transformer/golden.json').tokens[0];
        const ids = (await status(page)).ids;
        check(ids.length === 1 && ids[0] === golden, `recall: Transformer answered ${ids}, native engine ${golden} (v200)`);
        measured[`${label} compare: Transformer answers (token id)`] = ids[0];
      } else if (i === 5) {
        const cells = await figure(page, 'recall', 3 * 8);
        const c = cells.find((x) => x.id === 'recall-transformer' && x.seq_len === 256 && x.n_pairs === 16);
        const want = metrics('recall-transformer').test.grid['256']['16'];
        check(c && c.committed === want && near(c.accuracy, want, 0.2), `recall 16 @256: page ${c?.accuracy} vs metrics ${want}`);
        measured[`${label} recall: Transformer 16 pairs @256 (${c.cases} cases)`] = c.accuracy.toFixed(3);
      } else if (i === 6) {
        await page.waitForSelector('[data-testid^="implicit"] canvas, [data-testid^="implicit"] svg');
        await page.waitForFunction(() => window.__hybrid_status.models[0].analysis);
        const a = (await status(page)).models[0].analysis;
        // every causal attention row is a softmax: a [T, T] map sums to T
        check(a.attn_maps > 0 && near(a.attn_sum, a.attn_maps * a.tokens, 1e-3 * a.attn_maps * a.tokens), `attention: ${a.attn_maps} maps of ${a.tokens} tokens sum to ${a.attn_sum}`);
        check(a.engine === (mode.webgpu ? 'WebGPU' : 'CPU'), `attention computed on ${a.engine}`);
        measured[`${label} attention: sum of the ${a.attn_maps} attention maps (${a.tokens} tokens, ${a.engine})`] = a.attn_sum.toFixed(4);
      } else if (i === 7) {
        p = await paperState(page);
        const row = p.figures.ablation.find((r) => r.family === 'transformer');
        const cell = row.cells.find((c) => c.seq_len === 256 && c.n_pairs === 16);
        // every committed seed of the atlas's recall Transformer (atlas/summary.json lists them)
        const entry = read('train/atlas/summary.json').find((e) => e.task === 'recall' && e.config_id === 'transformer');
        const seeds = entry.seeds.map((s) => read(`train/atlas/recall/transformer-s${s}.json`).test.grid['256']['16']);
        const mean = seeds.reduce((a, b) => a + b, 0) / seeds.length;
        check(cell.n === seeds.length && near(cell.mean, mean, 1e-9), `ablation: page ${cell.mean} (n ${cell.n}) vs seeds ${seeds}`);
        const shown = await page.textContent('#ablation-table tr[data-family=transformer]');
        const text = `${(cell.mean * 100).toFixed(1)} ± ${(cell.sd * 100).toFixed(1)} (n = ${cell.n})`;
        check(shown.includes(text), `ablation row ${shown}, want ${text}`);
        measured[`${label} ablation: Transformer 16 pairs @256`] = `${(cell.mean * 100).toFixed(1)} ± ${(cell.sd * 100).toFixed(1)}`;
        // the atlas tables: one number per table, as summary.json has it
        const summary = read('train/atlas/summary.json');
        for (const [table, task, config, metric, scale, digits] of [
          ['ratio', 'shakespeare', 'inter-1to1', 'test_loss', 1, 3],
          ['placement', 'recall', 'inter-middle', 'recall_16@256', 100, 1],
          ['intra', 'shakespeare', 'intra-nonorm', 'test_loss', 1, 3],
          ['equivalence', 'shakespeare', 'intra-concat', 'test_loss', 1, 3],
        ]) {
          const m = summary.find((e) => e.task === task && e.config_id === config).metrics[metric];
          const want = `${(m.mean * scale).toFixed(digits)} ± ${(m.sd * scale).toFixed(digits)} (n = ${m.values.length})`;
          const got = (await page.textContent(`#ablation-${table} tr[data-config="${config}"] td[data-metric="${metric}"]`)).trim();
          check(got === want, `ablation ${table} ${config} ${metric}: page ${got}, summary.json ${want}`);
          measured[`${label} ablation ${table}: ${config} ${metric}`] = got;
        }
        const eq = await page.textContent('#ablation-equivalence caption');
        check(/one model written two ways/i.test(eq), `equivalence caption ${eq}`);
      }
      console.log(`  ${label}: ok (models in ${loaded} s, step ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
    await page.locator('body').press('ArrowLeft');
    await page.waitForFunction(() => window.__hybrid_paper?.tour === 7);
    await page.locator('body').press('Escape');
    await page.waitForFunction(() => window.__hybrid_paper?.tour === null);
    check(!(await page.evaluate(() => location.hash)).includes('tour='), 'closing the tour leaves tour= in the URL');
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);
  } finally {
    await browser.close();
  }
});
for (const [k, v] of Object.entries(measured)) console.log(`  ${k}: ${v}`);
process.exit(failed ? 1 : 0);
