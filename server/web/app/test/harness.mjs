// What the browser tests share: their environment, Chromium, the step log
// and axe-core.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The environment variable `k`, which the Rust test must have set. */
export const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing ${k}`);
  return v;
};

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Every step checked, the axe-core violations and the timings measured. */
export const results = { violations: [], timings: {}, steps: [] };
let failures = 0;

/** Records a step; a false `cond` fails the test (at its end). */
export function check(cond, what) {
  results.steps.push({ what, ok: !!cond });
  if (!cond) {
    failures++;
    console.error(`FAIL: ${what}`);
  } else console.log(`ok: ${what}`);
}

/** Whether a step failed. */
export const failed = () => failures > 0;

/** Runs axe-core on `page` and checks that it finds no violation; `who` names the page in the log. */
export async function axe(page, who) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(async () => await globalThis.axe.run(document, { resultTypes: ['violations'] }));
  for (const x of r.violations) results.violations.push({ page: who, id: x.id, help: x.help, nodes: x.nodes.map((n) => n.target.join(' ')) });
  check(r.violations.length === 0, `${who}: axe-core finds no violation (${r.violations.map((x) => x.id).join(', ')})`);
}

/** Headless Debian Chromium, with the screenshot folder made. */
export async function launch() {
  mkdirSync(env('URNE_WEB_SHOTS'), { recursive: true });
  return chromium.launch({
    executablePath: process.env.URNE_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}
