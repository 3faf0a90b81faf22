// axe-core (npm) on the page under test: the violations that block (critical, serious,
// moderate) as readable lines.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const BLOCKING = ['critical', 'serious', 'moderate'];

/** Runs axe on the page; returns the blocking violations as readable lines. */
export async function axe(page) {
  // evaluated through the DevTools protocol: the page's CSP forbids inline <script> tags
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations);
  return violations
    .filter((v) => BLOCKING.includes(v.impact))
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}
