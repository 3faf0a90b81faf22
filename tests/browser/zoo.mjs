// Browser test: trained zoo models generate in the page exactly what the native engine
// does. For every zoo model on the CPU engine, and two on the GPU engine, greedy tokens after the golden prompt equal
// assets/models/<id>/golden.json (written and checked natively by core/tests/zoo.rs), on
// the GPU engine (WebGPU via SwiftShader) and on the CPU engine (no WebGPU).
// Env: HYBRID_URL, HYBRID_MODES (webgpu,no-webgpu), HYBRID_TEST_TIMEOUT_MS, CHROMIUM.
import fs from 'node:fs';
import { check, greedy, openPage, preferGpu, runInModes } from './lib/chromium.mjs';

// On the GPU (SwiftShader emulates it on the CPU: slow) two models; on the CPU engine the
// whole zoo listed in index.json.
const GPU_MODELS = ['shakespeare-intra', 'recall-intra'];
const ZOO = JSON.parse(fs.readFileSync(new URL('../../assets/models/index.json', import.meta.url), 'utf8'))
  .map((e) => e.id)
  .filter((id) => !id.startsWith('test-'));
check(ZOO.length >= 12, `index.json lists ${ZOO.length} zoo models`);
const golden = (id) =>
  JSON.parse(fs.readFileSync(new URL(`../../assets/models/${id}/golden.json`, import.meta.url), 'utf8'));

const { failed } = await runInModes('zoo', async (mode) => {
  const { browser, page } = await openPage(mode);
  try {
    if (mode.webgpu) await preferGpu(page);
    for (const id of mode.webgpu ? GPU_MODELS : ZOO) {
      const g = golden(id);
      const run = await greedy(page, `models=${id}`, id, g.prompt, g.tokens.length);
      const got = JSON.stringify(run.s.ids);
      check(got === JSON.stringify(g.tokens), `${id}: page ids differ from golden.json\n  page:   ${got}\n  golden: ${JSON.stringify(g.tokens)}`);
      check(run.backend === (mode.webgpu ? 'gpu' : 'cpu'), `${id}: ran on the ${run.backend} engine`);
      const text = await page.textContent('#output');
      check(text.includes(g.text.trim().slice(0, 12)), `${id}: the page shows ${JSON.stringify(text.slice(0, 80))}`);
      console.log(`  [${mode.name}] ${id} on ${run.backend}: ${JSON.stringify(g.text.slice(0, 50))}... identical to native`);
    }
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);
  } finally {
    await browser.close();
  }
});
process.exit(failed ? 1 : 0);
