// In-browser verification timings (BENCHMARKS.md): opens the public site of
// URNE_WEB_ELECTION on URNE_WEB_SERVER and verifies each export file of
// URNE_BENCH_EXPORTS (comma-separated) three times by dropping it on the
// Verify part, on one Web Worker per core; prints the page's own timings.
// With URNE_BENCH_RESULTS=1 it instead loads the results page three times
// and times it from navigation to the first constituency's table (the
// export's download and its verification included).
import { chromium } from 'playwright-core';

const SERVER = process.env.URNE_WEB_SERVER;
const ELECTION = process.env.URNE_WEB_ELECTION;
const files = (process.env.URNE_BENCH_EXPORTS || '').split(',').filter(Boolean);
const browser = await chromium.launch({
  executablePath: process.env.URNE_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const page = await browser.newPage();
const rows = [];
for (let run = 0; process.env.URNE_BENCH_RESULTS === '1' && run < 3; run++) {
  await page.goto('about:blank');
  const started = Date.now();
  await page.goto(`${SERVER}/elections/${ELECTION}#results`);
  await page.getByTestId('verify-board').click();
  await page.locator('table[data-testid^=tally-], .error').first().waitFor({ timeout: 1800000 });
  const t = await page.evaluate(() => window.urneTimings);
  const status = await page.getByTestId('verdict').getAttribute('data-status');
  rows.push({ page: 'results', run, status, workers: t.workers, fetch_ms: Math.round(t.fetch), verify_ms: Math.round(t.verify), wall_ms: Date.now() - started });
  console.log(JSON.stringify(rows[rows.length - 1]));
}
for (const file of files) {
  for (let run = 0; run < 3; run++) {
    await page.goto('about:blank');
    await page.goto(`${SERVER}/elections/${ELECTION}#verify`);
    await page.getByTestId('export-file').waitFor();
    await page.getByTestId('export-file').setInputFiles(file);
    await page.locator('[data-testid=checks], .error').first().waitFor({ timeout: 1800000 });
    const t = await page.evaluate(() => window.urneTimings);
    const status = await page.getByTestId('verdict').getAttribute('data-status');
    rows.push({ file, run, status, workers: t.workers, verify_ms: Math.round(t.verify) });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
}
await browser.close();
