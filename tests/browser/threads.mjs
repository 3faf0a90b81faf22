// Browser test: the CPU engine on threads (issue #13 item 4). The page served with
// COOP/COEP (scripts/static-server.mjs, as HYBRID_URL is) is cross-origin isolated: the
// CPU engine's worker is the threaded build and runs a pool of Web Workers, and the badge
// says how many threads. The same dist/ served without those headers (a second server
// started here, --no-isolation) gets the single-threaded build, and the badge says why.
// Both give the same greedy tokens, bit for bit (the engine's tasks do the same
// arithmetic on any thread count). The in-page benchmark's CPU rows run in the same
// worker and report its thread count.
// Env: HYBRID_URL (the isolated page), HYBRID_MODES, CHROMIUM.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { URL_UNDER_TEST, check, greedy, openPage, runInModes } from './lib/chromium.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = 'shakespeare-inter';
const PROMPT = 'ROMEO:\nBut soft, what light through yonder window breaks? It is the east, and Juliet is the sun. '.repeat(3);
const TOKENS = 12;

/** dist/ served again, without the isolation headers; resolves to [url, stop]. */
async function plainServer() {
  const urlFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hybrid-plain-')), 'url');
  const server = spawn('node', [path.join(ROOT, 'scripts/static-server.mjs'), path.join(ROOT, 'dist'),
    '--port', '0', '--url-file', urlFile, '--no-isolation'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !fs.existsSync(urlFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (!fs.existsSync(urlFile)) {
    server.kill();
    throw new Error('the second static server (--no-isolation) did not start');
  }
  return [fs.readFileSync(urlFile, 'utf8'), () => server.kill()];
}

const threadsOf = async (page) => {
  await page.waitForSelector('#backend-badge[data-cpu-threads]', { state: 'attached' });
  return Number(await page.getAttribute('#backend-badge', 'data-cpu-threads'));
};

const [plainUrl, stopPlain] = await plainServer();
const { failed } = await runInModes('threads', async (mode) => {
  const { browser, page } = await openPage(mode);
  try {
    const hash = `models=${MODEL}&backend=cpu`;
    // 1. cross-origin isolated: the threaded worker
    const mt = await greedy(page, hash, MODEL, PROMPT, TOKENS);
    check(await page.evaluate(() => self.crossOriginIsolated === true), 'HYBRID_URL is not cross-origin isolated');
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const n = await threadsOf(page);
    check(mt.backend === 'cpu', `the run used the ${mt.backend} engine`);
    check(n === Math.min(Math.max(cores, 1), 8) && n >= 2, `${n} CPU threads on ${cores} cores; badge: ${mt.badge}`);
    check(mt.badge.includes(`CPU (wasm, ${n} threads)`), `badge: ${mt.badge}`);

    // 2. not isolated: one thread, said, and the same tokens
    const st = await greedy(page, hash, MODEL, PROMPT, TOKENS, plainUrl);
    check(await page.evaluate(() => self.crossOriginIsolated === false), 'the --no-isolation page is isolated');
    check((await threadsOf(page)) === 1, `not isolated but ${await threadsOf(page)} threads`);
    check(st.badge.includes('1 thread: the page is not cross-origin isolated'), `badge: ${st.badge}`);
    check(JSON.stringify(st.s.ids) === JSON.stringify(mt.s.ids),
      `tokens differ: ${n} threads ${mt.s.ids} vs 1 thread ${st.s.ids}`);

    // 3. the in-page benchmark's CPU rows run in the threaded worker
    const url = new URL(URL_UNDER_TEST);
    url.hash = 'bench=mamba2&lens=48&decode=2&runs=1&engines=cpu';
    await page.goto('about:blank');
    await page.goto(url.toString(), { waitUntil: 'load' });
    await page.waitForFunction(() => ['done', 'error'].includes(window.__hybridBench?.status));
    const report = await page.evaluate(() => window.__hybridBench);
    check(report.status === 'done', `bench: ${report.errors.join('; ')}`);
    check(report.cpu_threads === n, `bench ran on ${report.cpu_threads} threads, the badge said ${n}`);
    const row = report.rows[0];
    check(report.rows.length === 1 && row.engine === 'cpu-wasm' && row.finite && row.prefill_ms > 0,
      `bench row: ${JSON.stringify(row)}`);
    check(page.problems.length === 0, `browser errors: ${page.problems.join(' | ')}`);
    console.log(`  [${mode.name}] ${n} threads; ${TOKENS} tokens equal to one thread's; bench mamba2@48 prefill ${row.prefill_ms.toFixed(1)} ms`);
  } finally {
    await browser.close();
  }
});
stopPlain();
process.exit(failed ? 1 : 0);
