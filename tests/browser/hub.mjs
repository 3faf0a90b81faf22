// Browser test of "Open from Hugging Face": a stand-in hub (scripts/hub-server.mjs) serves
// the committed fixtures of core/tests/fixtures/hf in the hub's URL layout. The page lists
// a repository, refuses an unsupported config having fetched nothing beyond config.json,
// cancels a slow download, downloads a sharded Bamba checkpoint with progress, generates
// transformers' greedy continuation with it (golden.json), draws its attention and state
// maps, then with the hub stopped reloads and opens it again from the browser's store
// (same tokens), and opens a local folder (the Llama fixture) with the folder picker.
// Each part's time is printed.
// Env: HYBRID_URL, HYBRID_MODES, CHROMIUM.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { axe } from './lib/axe.mjs';
import { URL_UNDER_TEST, check, openPage, runInModes, status } from './lib/chromium.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const FIXTURES = path.join(ROOT, 'core/tests/fixtures/hf');
const close = (a, b, tol = 1e-3) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

/** The fixture's prompt as text and its golden greedy ids (transformers' own). */
function golden(family) {
  const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, family, 'golden.json'), 'utf8'));
  const vocab = JSON.parse(fs.readFileSync(path.join(FIXTURES, family, 'tokenizer.json'), 'utf8')).model.vocab;
  const word = Object.fromEntries(Object.entries(vocab).map(([w, id]) => [id, w]));
  return { prompt: g.prompt_ids.map((id) => word[id]).join(' '), ids: g.greedy_ids };
}

/** Starts the stand-in hub; resolves to { url, stop }. */
async function startHub() {
  const urlFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hub-')), 'url');
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts/hub-server.mjs'), '--fixtures', FIXTURES, '--port', '0', '--url-file', urlFile], { stdio: 'inherit' });
  for (let i = 0; i < 100 && !fs.existsSync(urlFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (!fs.existsSync(urlFile)) throw new Error('scripts/hub-server.mjs did not start');
  const url = fs.readFileSync(urlFile, 'utf8');
  const exited = new Promise((r) => child.once('exit', r));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return { url, stop };
}

async function waitPhase(page, phases) {
  await page.waitForFunction((ps) => ps.includes(document.querySelector('#hub-panel')?.dataset.phase), phases);
  return page.getAttribute('#hub-panel', 'data-phase');
}

/** Generates greedily with every slot; returns the status of the slot holding `id`. */
async function generate(page, prompt, n, id) {
  await page.click('#tab-compare');
  await page.fill('#prompt', prompt);
  await page.fill('#max-tokens', String(n));
  await page.fill('#temperature', '0');
  await page.click('#generate');
  await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(window.__hybrid_status?.state));
  const s = await status(page);
  check(s.state === 'done', `generation ended ${s.state}: ${JSON.stringify(s.errors)}`);
  const m = s.models.find((x) => x.id === id);
  check(m, `no slot holds ${id}: ${JSON.stringify(s.models.map((x) => x.id))}`);
  return m;
}

/** Prints how long each part took (the CI log shows where the time goes). */
function stepper(mode) {
  let t = Date.now();
  return (what) => {
    console.log(`  [${mode.name}] ${what}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
  };
}

async function openPanel(page) {
  if ((await page.getAttribute('#hub-toggle', 'aria-expanded')) !== 'true') await page.click('#hub-toggle');
  await page.waitForSelector('#hub-panel');
}

const { failed } = await runInModes('hub', async (mode) => {
  const hub = await startHub();
  const { browser, page } = await openPage(mode);
  const step = stepper(mode);
  try {
    const url = new URL(URL_UNDER_TEST);
    url.searchParams.set('hub', hub.url);
    await page.goto(url.toString(), { waitUntil: 'load' });
    await page.waitForFunction(() => window.__hybrid_status?.state === 'ready');
    step('page ready');
    await openPanel(page);
    check((await page.textContent('#hub-panel')).includes(hub.url), 'the panel does not name the ?hub= address');

    // Unsupported: the importer's error, and nothing fetched beyond config.json.
    await page.fill('#hub-repo', 'fixtures/unsupported');
    await page.click('#hub-lookup');
    await waitPhase(page, ['error']);
    const refused = await page.textContent('#hub-refused');
    check(refused.includes('rope_scaling'), `unsupported config: ${refused}`);
    let asked = await (await fetch(`${hub.url}/__requests`)).json();
    const fetched = asked.filter((p) => p.startsWith('/fixtures/unsupported/'));
    check(fetched.length === 1 && fetched[0].endsWith('/config.json'), `fetched for an unsupported model: ${fetched}`);
    check(await page.isDisabled('#hub-download'), 'Download is enabled for a refused model');

    step('unsupported refused');
    // Cancel a slow download: nothing stored.
    await page.fill('#hub-repo', `${hub.url}/fixtures/llama-slow`);
    await page.click('#hub-lookup');
    await page.waitForSelector('#hub-family');
    await page.click('#hub-download');
    await page.waitForFunction(() => Number(document.querySelector('#hub-file-progress')?.value) > 0);
    await page.click('#hub-cancel');
    await waitPhase(page, ['error']);
    check((await page.textContent('#hub-panel')).includes('Cancelled'), 'cancel did not say so');
    check((await page.$$('#hub-stored li')).length === 0, 'a cancelled download was stored');

    step('cancelled');
    // A sharded Bamba: files, family, plan and estimate before the weights, then the download.
    await page.fill('#hub-repo', 'fixtures/bamba-sharded');
    await page.fill('#hub-revision', 'main');
    await page.click('#hub-lookup');
    await page.waitForSelector('#hub-family');
    check((await page.textContent('#hub-family')) === 'BambaForCausalLM', 'family');
    const plan = await page.textContent('#hub-plan');
    check(plan.startsWith('3 layers: M+F A+F M+F'), `layer plan: ${plan}`);
    const files = await page.$$eval('#hub-files tbody tr', (rows) => rows.map((r) => r.textContent));
    check(files.length === 5 && files.some((f) => f.includes('model-00002-of-00002.safetensors')), `files: ${files}`);
    asked = await (await fetch(`${hub.url}/__requests`)).json();
    check(!asked.some((p) => p.startsWith('/fixtures/bamba-sharded/') && p.includes('.safetensors')), 'weights fetched before Download');
    check(/Weights: .* as stored, .* as f32/.test(await page.textContent('#hub-estimate')), 'no memory estimate');
    await page.click('#hub-download');
    await waitPhase(page, ['opened', 'error']);
    check((await page.getAttribute('#hub-panel', 'data-phase')) === 'opened', `download: ${await page.textContent('#hub-panel')}`);
    const violations = await axe(page);
    check(violations.length === 0, `axe on the Hugging Face panel: ${violations.join('; ')}`);
    const stored = await page.$$eval('#hub-stored li', (li) => li.map((l) => l.dataset.repo));
    check(stored.length === 1 && stored[0] === 'fixtures/bamba-sharded@main', `stored: ${stored}`);
    // the model joins the pickers and a slot; keep only it
    await page.waitForFunction(() => window.__hybrid_status?.models.some((m) => m.id === 'file:1' && m.load === 'ready'));
    await page.click('[aria-label="Remove model 1"]');
    await page.waitForFunction(() => window.__hybrid_status?.model === 'file:1' && window.__hybrid_status.models.length === 1);

    step('downloaded and opened');
    const bamba = golden('bamba');
    let m = await generate(page, bamba.prompt, bamba.ids.length, 'file:1');
    check(JSON.stringify(m.ids) === JSON.stringify(bamba.ids), `greedy ids ${m.ids}, transformers ${bamba.ids}`);
    // the page's own choice: the CPU engine on SwiftShader, a software adapter (the GPU engine
    // runs these checkpoints in gpu/tests/models.rs; here its shader compiles would take minutes)
    check(m.backend === 'cpu', `engine ${m.backend}`);

    step('generated');
    // Attention and State: real maps of its attention layer and Mamba layers.
    await page.click('#tab-attention');
    await page.waitForFunction(() => window.__hybrid_status?.models[0]?.analysis);
    const a = (await status(page)).models[0].analysis;
    const T = a.tokens;
    check(T === 11 && a.layers === 3, `analysis: ${JSON.stringify(a)}`);
    check(a.attn_maps === 4 && close(a.attn_sum, 4 * T), `softmax rows sum to 1: ${JSON.stringify(a)}`);
    check(a.implicit_maps === 8 && Math.abs(a.implicit_sum) > 0, `implicit attention: ${JSON.stringify(a)}`);
    await page.click('#attn-layer-2');
    await page.waitForSelector('[data-testid="attn-1"] canvas.big');
    const sum = Number(await page.getAttribute('[data-testid="attn-1"] canvas.big', 'data-sum'));
    check(close(sum, T), `drawn attention map sums to ${sum}, expected ${T}`);
    await page.click('#tab-state');
    await page.waitForSelector('[data-testid^="state"] canvas');
    const panels = await page.$$eval('[data-testid^="state"]', (els) => els.length);
    check(panels === 2, `state panels: ${panels}, expected the 2 Mamba layers`);
    const drawn = await page.$$eval('[data-testid^="state"] canvas', (cs) => cs.reduce((t, c) => t + Number(c.dataset.sum), 0));
    check(drawn > 0 && close(drawn, a.dt_sum + a.state_norm_sum), `state maps sum ${drawn}, probes ${a.dt_sum + a.state_norm_sum}`);
    step('maps');
    // Architecture: its real layer plan
    await openPanel(page);
    await page.click('#hub-architecture');
    await page.waitForFunction(() => window.__hybrid_status?.view === 'architecture');
    const blocks = await page.$$eval('.block[data-kind]', (b) => b.map((x) => x.dataset.kind).reverse());
    check(JSON.stringify(blocks) === JSON.stringify(['Mamba-2', 'attention', 'Mamba-2']), `architecture blocks: ${blocks}`);

    step('architecture');
    // Offline: the hub is gone; the store opens it again, with the same tokens.
    await hub.stop();
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => window.__hybrid_status?.state === 'ready');
    await openPanel(page);
    await page.click('#hub-stored li[data-repo="fixtures/bamba-sharded@main"] .hub-open-stored');
    await waitPhase(page, ['opened', 'error']);
    check((await page.getAttribute('#hub-panel', 'data-phase')) === 'opened', `offline: ${await page.textContent('#hub-panel')}`);
    await page.waitForFunction(() => window.__hybrid_status?.models.some((x) => x.id === 'file:1' && x.load === 'ready'));
    m = await generate(page, bamba.prompt, bamba.ids.length, 'file:1');
    check(JSON.stringify(m.ids) === JSON.stringify(bamba.ids), `offline greedy ids ${m.ids}, expected ${bamba.ids}`);

    step('offline');
    // A local folder (every file of the fixture's folder; only the model's are read).
    await page.setInputFiles('#checkpoint-folder', path.join(FIXTURES, 'llama'));
    await page.waitForFunction(() => window.__hybrid_status?.models.some((x) => x.id === 'file:2' && x.load === 'ready'));
    const llama = golden('llama');
    m = await generate(page, llama.prompt, llama.ids.length, 'file:2');
    check(JSON.stringify(m.ids) === JSON.stringify(llama.ids), `local folder greedy ids ${m.ids}, transformers ${llama.ids}`);

    step('local folder');
    // Remove empties the store.
    await openPanel(page);
    await page.click('#hub-stored li .hub-remove-stored');
    await page.waitForFunction(() => !document.querySelector('#hub-stored'));
    const left = await page.evaluate(async () => (await (await caches.open('hybrid-hf-v1')).keys()).length);
    check(left === 0, `${left} files left in the store after Remove`);
    check(page.problems.length === 0, `page problems: ${page.problems.join('; ')}`);
  } finally {
    await browser.close();
    await hub.stop();
  }
});
process.exit(failed ? 1 : 0);
