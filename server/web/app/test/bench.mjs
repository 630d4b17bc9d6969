// Timings of the voter web app in headless Chromium, one voter per
// constituency size (started by the ignored test `web_benchmarks` in
// server/tests/web.rs): page load, credential issuance end to end, and
// proving a ballot (encrypt + three proofs + signature, in wasm). Prints a
// table; asserts nothing about time.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';

const voters = JSON.parse(process.env.URNE_BENCH_VOTERS); // [{name, link, candidates, min}]
const browser = await chromium.launch({
  executablePath: process.env.URNE_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const rows = [];
const pages = [];
for (const v of voters) {
  const page = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  const t0 = Date.now();
  await page.goto(v.link);
  await page.getByRole('heading', { level: 1, name: 'Join this election' }).waitFor({ timeout: 60000 });
  const load = Date.now() - t0;
  await page.getByRole('button', { name: 'Join this election', exact: true }).click();
  await page.getByRole('button', { name: 'I have kept my recovery code' }).click();
  await page.getByRole('button', { name: 'Get my credential' }).click();
  await page.getByRole('heading', { level: 1, name: /^Your ballot —/ }).waitFor({ timeout: 60000 });
  const credential = await page.evaluate(() => window.urneTimings.credential);
  pages.push({ v, page, load, credential });
}
execFileSync(process.env.URNE_BIN, ['--server', process.env.URNE_WEB_SERVER, 'admin', 'open', '--election', process.env.URNE_WEB_ELECTION], { stdio: 'inherit' });
for (const { v, page, load, credential } of pages) {
  const boxes = page.getByRole('checkbox');
  for (let i = 0; i < v.min; i++) await boxes.nth(i).check();
  await page.getByRole('button', { name: 'Review my choices' }).click();
  await page.getByRole('button', { name: 'Cast my ballot' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your ballot is on the board' }).waitFor({ timeout: 120000 });
  const ballot = await page.evaluate(() => window.urneTimings.ballot);
  rows.push({ candidates: v.candidates, approvals: v.min, load, credential, ballot });
}
await browser.close();
console.log('| candidates | approvals | page load (ms) | credential end to end (ms) | ballot proving in wasm (ms) |');
console.log('|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.candidates} | ${r.approvals} | ${r.load} | ${r.credential.toFixed(0)} | ${r.ballot.toFixed(0)} |`);
