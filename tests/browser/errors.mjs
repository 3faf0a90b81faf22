// Browser test: broken or missing model files end as messages in the page, never as a
// panic, and the page recovers when a good model is picked again. The model list and the
// broken files are injected with request interception; the real test model stays as is.
// A model too large for the page's wasm memory is refused from its config.json, with the
// bytes it needs and the limit, before its weights are requested.
import { URL_UNDER_TEST, check, openPage, runInModes } from './lib/chromium.mjs';

const GOOD = process.env.HYBRID_MODEL ?? 'test-random';

const OVER_LIMIT = {
  name: 'over-limit', vocab_size: 32000, d_model: 2048, d_ffn: 8192, tie_embeddings: true,
  layers: Array(10).fill('attention'), attention: { n_heads: 16, n_kv_heads: 16, head_dim: 128 },
};

const CASES = [
  // id; files replaced under assets/models/broken/<id>/ (others are the good model's,
  // `missing` ones answer 404); the text expected in the page's error
  { id: 'missing', missing: ['model.safetensors'], expect: /model\.safetensors: HTTP 404/ },
  { id: 'bad-config', files: { 'config.json': '{"vocab_size": "many"' }, expect: /config\.json/ },
  { id: 'bad-weights', files: { 'model.safetensors': 'not a safetensors file' }, expect: /model\.safetensors/ },
  { id: 'bad-tokenizer', files: { 'tokenizer.json': '{"model": 3}' }, expect: /tokenizer\.json/ },
  // the good weights cut in half (a download that stopped)
  { id: 'truncated-weights', truncate: 'model.safetensors', expect: /model\.safetensors/ },
  // 737 M parameters: 2.74 GiB as f32 + at least 1.37 GiB of checkpoint > wasm's 4 GiB,
  // refused from config.json alone: the weights are never requested
  { id: 'over-limit', files: { 'config.json': JSON.stringify(OVER_LIMIT) }, never: ['model.safetensors'],
    expect: /7\d{8} parameters need at least 4\d{9} bytes \(4\.12 GiB: 2\.74 GiB of f32 weights .*over the 4294967296 bytes \(4 GiB\)/ },
];

const { failed } = await runInModes('errors', async (mode) => {
  const { browser, page } = await openPage(mode, { serviceWorkers: 'block' });
  try {
    // Serve an index.json with the broken entries in front of the real one.
    await page.route('**/assets/models/index.json', async (route) => {
      const real = await (await route.fetch()).json();
      const broken = CASES.map((c) => ({ id: c.id, name: `broken: ${c.id}`, description: 'test', path: `broken/${c.id}` }));
      await route.fulfill({ json: [...broken, ...real] });
    });
    // Broken files, and the good test model's files for the rest (each request recorded).
    const fetched = [];
    await page.route('**/assets/models/broken/**', async (route) => {
      const url = new URL(route.request().url());
      const [id, file] = url.pathname.split('/broken/')[1].split('/');
      const c = CASES.find((x) => x.id === id);
      fetched.push(`${id}/${file}`);
      if (!c || c.missing?.includes(file)) return route.fulfill({ status: 404, body: 'not found' });
      if (!c.files?.[file]) {
        const good = await fetch(new URL(`assets/models/${GOOD}/${file}`, URL_UNDER_TEST));
        const body = Buffer.from(await good.arrayBuffer());
        const cut = c.truncate === file ? body.subarray(0, Math.floor(body.length / 2)) : body;
        return route.fulfill({ status: good.status, body: cut });
      }
      return route.fulfill({ status: 200, body: c.files[file] });
    });
    // Missing files are expected to log a 404 in the console: only uncaught errors count here.
    await page.goto(URL_UNDER_TEST, { waitUntil: 'load' });

    for (const c of CASES) {
      await page.waitForSelector(`#model option[value="${c.id}"]`, { state: 'attached' });
      await page.selectOption('#model', c.id);
      await page.waitForFunction(
        (id) => window.__hybrid_status?.model === id && ['ready', 'error'].includes(window.__hybrid_status.state),
        c.id,
      );
      const s = await page.evaluate(() => window.__hybrid_status);
      const shown = await page.$$eval('[data-testid=error]', (els) => els.map((e) => e.textContent).join(' | '));
      check(s.state === 'error', `${c.id}: expected an error, state is ${s.state}`);
      check(c.expect.test(shown), `${c.id}: error should match ${c.expect}, page shows: ${shown}`);
      check(c.id === 'missing' || !/HTTP/.test(shown), `${c.id}: expected a format error, page shows: ${shown}`);
      for (const f of c.never ?? []) check(!fetched.includes(`${c.id}/${f}`), `${c.id}: ${f} was fetched`);
      console.log(`  [${mode.name}] ${c.id}: ${shown}`);
      check(await page.isDisabled('#generate'), `${c.id}: Generate should be disabled without a model`);
    }

    // A bad form value is an error message too, and a good model still works afterwards.
    await page.selectOption('#model', GOOD);
    await page.waitForFunction((id) => window.__hybrid_status?.model === id && window.__hybrid_status.state === 'ready', GOOD);
    check((await page.$$('[data-testid=error]')).length === 0, 'errors stayed after loading a good model');
    await page.fill('#top-p', '7');
    await page.click('#generate');
    await page.waitForSelector('#output[data-state=error]');
    const shown = await page.textContent('[data-testid=error]');
    check(/top-p/.test(shown), `bad top-p should be named in the error, page shows: ${shown}`);

    const uncaught = page.problems.filter((p) => !p.includes('404'));
    check(uncaught.length === 0, `browser errors: ${uncaught.join(' | ')}`);
  } finally {
    await browser.close();
  }
});
process.exit(failed ? 1 : 0);
