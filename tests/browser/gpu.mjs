// Browser test: the GPU engine in the page. With WebGPU on SwiftShader (a software
// adapter) the page picks the CPU engine by itself and says why; the badge's switch
// ("Use WebGPU", remembered in localStorage) moves it to the GPU, the badge then names the
// adapter and a greedy run of the test model on the GPU gives exactly the ids of the
// native CPU engine (tests/browser/gpu-expected.json, checked against the CPU engine by
// `cargo test -p hybrid-app`; `HYBRID_BLESS=1 cargo test -p hybrid-app expected_ids`
// rewrites it). The same page with `#backend=cpu`, and a browser without WebGPU, run on
// the CPU engine with the reason in the badge and give the same ids.
// Env: HYBRID_URL, HYBRID_MODES (webgpu,no-webgpu), HYBRID_TEST_TIMEOUT_MS, CHROMIUM.
import fs from 'node:fs';
import { check, greedy, openPage, runInModes } from './lib/chromium.mjs';

const MODEL = 'test-random';
const expected = JSON.parse(fs.readFileSync(new URL('./gpu-expected.json', import.meta.url), 'utf8'));
check(expected.ids.length === expected.tokens, 'gpu-expected.json: ids and tokens disagree');

const greedyRun = (page, hash) => greedy(page, hash, MODEL, expected.prompt, expected.tokens);

function sameIds(run, label) {
  const got = JSON.stringify(run.s.ids);
  const want = JSON.stringify(expected.ids);
  check(got === want, `${label}: ids differ from the native CPU engine's\n  page:   ${got}\n  native: ${want}`);
}

const { failed } = await runInModes('gpu', async (mode) => {
  const { browser, page } = await openPage(mode);
  try {
    const models = `models=${MODEL}`;
    if (mode.webgpu) {
      const auto = await greedyRun(page, models);
      check(auto.engine === 'cpu' && /software renderer/.test(auto.badge) && /Use WebGPU/.test(auto.badge),
        `on SwiftShader the page should pick the CPU engine, say why and offer the switch: ${auto.badge}`);
      check(auto.backend === 'cpu', `the automatic run used the ${auto.backend} engine`);
      sameIds(auto, 'CPU (automatic)');
      await Promise.all([page.waitForEvent('load'), page.click('#toggle-backend')]);
      const gpu = await greedyRun(page, models);
      check(gpu.engine === 'gpu' && /^WebGPU: /.test(gpu.badge), `badge should name the WebGPU adapter: ${gpu.badge}`);
      check(gpu.backend === 'gpu' && gpu.s.backend === 'gpu', `the run used the ${gpu.backend} engine`);
      sameIds(gpu, 'GPU');

      const cpu = await greedyRun(page, `${models}&backend=cpu`);
      check(cpu.engine === 'cpu' && /CPU \(wasm(, \d+ threads?[^)]*)?\)/.test(cpu.badge) && /backend=cpu/.test(cpu.badge),
        `#backend=cpu should pick the CPU engine and say so: ${cpu.badge}`);
      check(cpu.backend === 'cpu', `the #backend=cpu run used the ${cpu.backend} engine`);
      sameIds(cpu, 'CPU (forced)');
      console.log(`  [${mode.name}] badge: ${auto.badge} | after the switch: ${gpu.badge}`);
      console.log(
        `  [${mode.name}] ${expected.tokens} greedy tokens identical to native; GPU ${gpu.s.tokens_per_s.toFixed(1)} tokens/s ` +
          `(prefill ${gpu.s.prefill_ms.toFixed(1)} ms), CPU ${cpu.s.tokens_per_s.toFixed(1)} tokens/s (prefill ${cpu.s.prefill_ms.toFixed(1)} ms)`,
      );
    } else {
      const cpu = await greedyRun(page, models);
      check(cpu.engine === 'cpu' && /no WebGPU/.test(cpu.badge), `badge should say there is no WebGPU: ${cpu.badge}`);
      check(cpu.backend === 'cpu', `the run used the ${cpu.backend} engine`);
      sameIds(cpu, 'CPU');
      console.log(`  [${mode.name}] badge: ${cpu.badge}; CPU ${cpu.s.tokens_per_s.toFixed(1)} tokens/s, ids identical to native`);
    }
    const errors = await page.$$eval('[data-testid=error]', (els) => els.map((e) => e.textContent));
    check(errors.length === 0, `error shown in the page: ${errors.join(' | ')}`);
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);
  } finally {
    await browser.close();
  }
});
process.exit(failed ? 1 : 0);
