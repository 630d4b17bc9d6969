// In-browser verification timings (BENCHMARKS.md): opens the public site of
// URNE_WEB_ELECTION on URNE_WEB_SERVER and verifies each export file of
// URNE_BENCH_EXPORTS (comma-separated) three times by dropping it on the
// Verify part, on one Web Worker per core; prints the page's own timings.
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
for (const file of files) {
  for (let run = 0; run < 3; run++) {
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
