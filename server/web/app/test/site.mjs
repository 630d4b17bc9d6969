// The public site in headless Chromium against a real `urne serve` of a
// finished demo election (started by server/tests/site.rs, which passes
// its address, the election, urne-verify's JSON report of the export and
// a tampered export with the checks urne-verify failed on it): every page
// in English and French and at phone width, the results chart and tables
// against urne-verify's report, the lottery, the board explorer with a
// receipt check (a good receipt, a forged one), the in-browser
// verification (valid; invalid on the tampered file, naming the same
// checks as the command line), a ballot check file (true, then edited);
// the ties, replacement lists, seed and draw steps against urne-verify's
// report; axe-core on every page; screenshots.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { axe, check, env, failed, launch, results } from './harness.mjs';

const SERVER = env('URNE_WEB_SERVER');
const SHOTS = env('URNE_WEB_SHOTS');
const OUT = env('URNE_WEB_OUT');
const ELECTION = env('URNE_WEB_ELECTION');
const CLI = JSON.parse(readFileSync(env('URNE_SITE_REPORT'), 'utf8'));
const TAMPERED = env('URNE_SITE_TAMPERED');
const TILES = JSON.parse(readFileSync(env('URNE_SITE_TILES_REPORT'), 'utf8'));
const TAMPERED_FAILS = env('URNE_SITE_TAMPERED_FAILS').split(',');
const AUDIT = env('URNE_SITE_AUDIT');
const AUDIT_EDITED = env('URNE_SITE_AUDIT_EDITED');
const AUDIT_APPROVED = env('URNE_SITE_AUDIT_APPROVED').split(',');
const browser = await launch();

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `site-${name}.png`), fullPage: true });
}

async function tab(page, name) {
  await page.getByRole('navigation').getByRole('button', { name }).click();
}

// A receipt built from the service's public answers for entry `index`, the
// way the voter page's receipt file is (§6.8): index, size, leaf, root,
// signed checkpoint, inclusion proof.
async function receiptFor(index) {
  const base = `${SERVER}/v1/elections/${ELECTION}`;
  const note = await (await fetch(`${base}/checkpoint`)).text();
  const size = Number(note.split('\n')[1]);
  const entry = Buffer.from(await (await fetch(`${base}/entries/${index}`)).arrayBuffer());
  const leaf = createHash('sha256').update(Buffer.concat([Buffer.from([0]), entry])).digest('hex');
  const proof = await (await fetch(`${base}/proof/inclusion?index=${index}&size=${size}`)).json();
  return { index, size, leaf, root: Buffer.from(note.split('\n')[2], 'base64').toString('hex'), checkpoint: note, inclusion: proof.hashes };
}

for (const [lang, locale, width] of [
  ['en', 'en-GB', 1280],
  ['fr', 'fr-FR', 375],
]) {
  const ctx = await browser.newContext({ locale, viewport: { width, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => check(false, `${lang}: page error ${e}`));
  const tag = `${lang}-${width}`;

  await page.goto(`${SERVER}/elections`);
  const link = page.getByRole('link', { name: CLI.title });
  await link.waitFor();
  check(await page.evaluate(() => document.documentElement.lang) === lang, `${tag}: the list is in ${lang}`);
  check(await page.getByRole('heading', { level: 1 }).textContent() === (lang === 'fr' ? 'Élections' : 'Elections'), `${tag}: the list's heading is in ${lang}`);
  await shot(page, `${tag}-list`);
  await axe(page, `${tag} list`);
  await link.click();
  await page.getByRole('heading', { level: 1, name: CLI.title }).waitFor();
  await page.locator('table').first().waitFor();
  await shot(page, `${tag}-overview`);
  await axe(page, `${tag} overview`);

  // Results, verified in the browser.
  await tab(page, lang === 'fr' ? 'Résultats' : 'Results');
  const started = Date.now();
  await page.getByTestId('verify-board').click();
  const verdict = page.getByTestId('verdict');
  await page.locator('[data-testid=verdict], .error').first().waitFor({ timeout: 300000 });
  results.timings[`${tag} verify demo (ms)`] = await page.evaluate(() => window.urneTimings.verify);
  results.timings[`${tag} verify demo with fetch, wall (ms)`] = Date.now() - started;
  check((await verdict.getAttribute('data-status')) === CLI.status, `${tag}: the browser's verdict is the CLI's (${CLI.status})`);
  for (const c of CLI.constituencies) {
    const rows = await page.getByTestId(`tally-${c.id}`).locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    // The protocol's ranking: votes, then the tie hash order urne-verify reports.
    const place = new Map(c.ties.flatMap((g) => g.candidates.map((m, i) => [m.id, i])));
    const want = [...c.tally].sort((a, b) => b.votes - a.votes || (place.get(a.candidate) ?? 0) - (place.get(b.candidate) ?? 0));
    check(
      rows.length === want.length && want.every((k, i) => rows[i][0] === k.candidate && rows[i][1] === k.category && Number(rows[i][2]) === k.votes),
      `${tag}: ${c.id}'s table has urne-verify's tally (${want.length} candidates)`,
    );
    const elected = rows.filter((r) => r[3] !== '—').map((r) => r[0]).sort();
    check(JSON.stringify(elected) === JSON.stringify(c.elected.map((e) => e.id).sort()), `${tag}: ${c.id}'s elected are urne-verify's`);
    const bars = await page.getByTestId(`constituency-${c.id}`).locator('svg rect').count();
    check(bars === c.tally.length, `${tag}: ${c.id}'s chart has a bar per candidate`);
    const replacements = await page.getByTestId(`replacements-${c.id}`).locator('li').allTextContents();
    check(
      c.replacements.length > 0 && JSON.stringify(replacements) === JSON.stringify(c.replacements.map((r) => `${r.id} (${r.category})`)),
      `${tag}: ${c.id}'s replacement list is urne-verify's (${c.replacements.length})`,
    );
    const ties = await page.getByTestId(`ties-${c.id}`).locator('li').evaluateAll((lis) => lis.map((li) => [li.textContent, li.dataset.decisive]));
    check(
      ties.length === c.ties.length &&
        c.ties.every((g, i) => ties[i][1] === String(g.decisive) && ties[i][0].includes(g.candidates.map((m) => `${m.id} (${m.tie_hash.slice(0, 8)}…)`).join(lang === 'fr' ? ' avant ' : ' before '))),
      `${tag}: ${c.id}'s ties are shown in tie hash order, marked when they decided a seat (${c.ties.length})`,
    );
  }
  const assembly = await page.getByTestId('assembly').locator('tbody tr').count();
  const seats = CLI.constituencies.reduce((n, c) => n + c.elected.length + c.drawn.length, 0);
  check(assembly === seats, `${tag}: the assembly table has every seat (${seats})`);
  await shot(page, `${tag}-results`);
  await axe(page, `${tag} results`);

  // The lottery.
  await tab(page, lang === 'fr' ? 'Le tirage au sort' : 'The lottery');
  const withheld = await page.getByTestId('withheld').textContent();
  check(CLI.lottery.withheld.every((w) => withheld.includes(String(w))), `${tag}: the lottery names the contributors who withheld`);
  const contributors = await page.getByTestId('contributors').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  check(
    contributors.length === CLI.lottery.contributions.length &&
      CLI.lottery.contributions.every((c, i) =>
        c.secret ? contributors[i][2] === `${c.secret.slice(0, 16)}…` : contributors[i][2].includes(lang === 'fr' ? 'retenu' : 'withheld'),
      ),
    `${tag}: the contributors table shows each revealed secret and who withheld (${JSON.stringify(contributors)})`,
  );
  const seed = await page.getByTestId('seed').textContent();
  check(seed.includes(`${CLI.lottery.seed.slice(0, 16)}…`), `${tag}: the lottery shows the verified seed`);
  for (const c of CLI.constituencies.filter((c) => c.draw_steps.length > 0)) {
    const steps = await page.getByTestId(`steps-${c.id}`).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    check(
      steps.length === c.draw_steps.length &&
        c.draw_steps.every((d, i) => Number(steps[i][0]) === d.order && Number(steps[i][2]) === d.eligible && Number(steps[i][3]) === d.index && steps[i][4] === d.id),
      `${tag}: ${c.id}'s draw steps are urne-verify's (${c.draw_steps.length})`,
    );
  }
  const drawn = CLI.constituencies.flatMap((c) => c.drawn.map((d) => d.id));
  const text = await page.locator('main').textContent();
  check(drawn.every((d) => text.includes(d)), `${tag}: the lottery lists every drawn member`);
  await shot(page, `${tag}-lottery`);
  await axe(page, `${tag} lottery`);

  // The board explorer and a receipt.
  await tab(page, lang === 'fr' ? 'Le registre' : 'The board');
  await page.getByTestId('entries').waitFor();
  const kinds = await page.getByTestId('entries').locator('tbody tr td:nth-child(2)').allTextContents();
  check(kinds.length > 0 && kinds.length <= 20, `${tag}: the explorer shows the last entries (${kinds.length})`);
  await page.getByRole('spinbutton').first().fill('0');
  await page.getByRole('spinbutton').nth(1).fill('40');
  await page.getByRole('button', { name: lang === 'fr' ? 'Afficher' : 'Show' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=entries] tbody tr').length === 40);
  const first = await page.getByTestId('entries').locator('tbody tr').first().locator('td').nth(1).textContent();
  check(first === 'manifest', `${tag}: entry 0 is the manifest`);
  const ballotRow = page.getByTestId('entries').locator('tbody tr', { hasText: 'ballot' }).first();
  if (await ballotRow.count()) {
    const content = await ballotRow.locator('td').nth(4).textContent();
    check(!content.includes('h\''), `${tag}: a ballot is shown by fingerprint only`);
  }
  const receipt = await receiptFor(7);
  const forged = { ...receipt, leaf: receipt.leaf.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
  await page.getByTestId('receipt').fill(JSON.stringify(forged));
  await page.getByRole('button', { name: lang === 'fr' ? 'Vérifier ce reçu' : 'Check this receipt' }).click();
  check((await page.getByTestId('receipt-answer').getAttribute('class')) === 'error', `${tag}: a forged receipt is refused`);
  await page.getByTestId('receipt').fill(JSON.stringify(receipt));
  await page.getByRole('button', { name: lang === 'fr' ? 'Vérifier ce reçu' : 'Check this receipt' }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=receipt-answer]')?.className === 'note');
  check(true, `${tag}: a true receipt checks`);
  await shot(page, `${tag}-board`);
  await axe(page, `${tag} board`);

  // Verify: the whole board again, now with the receipt's checkpoint.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: CLI.title }).waitFor();
  await tab(page, lang === 'fr' ? 'Le registre' : 'The board');
  await page.getByTestId('receipt').fill(JSON.stringify(receipt));
  await page.getByRole('button', { name: lang === 'fr' ? 'Vérifier ce reçu' : 'Check this receipt' }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=receipt-answer]')?.className === 'note');
  await tab(page, lang === 'fr' ? 'Vérifier' : 'Verify');
  await page.getByTestId('verify-board').click();
  await page.locator('[data-testid=checks], .error').first().waitFor({ timeout: 300000 });
  const checks = await page.getByTestId('checks').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.dataset.check, tr.dataset.status]));
  check(JSON.stringify(checks) === JSON.stringify(CLI.checks.map((c) => [c.name, c.status])), `${tag}: the browser's checks and statuses are urne-verify's`);
  const cpDetail = await page.getByTestId('checks').locator('tr[data-check=checkpoints] td').nth(1).textContent();
  check(cpDetail.includes('1 of 1 given checkpoint consistent'), `${tag}: the receipt's checkpoint was checked against the board (${cpDetail})`);
  await tab(page, lang === 'fr' ? 'Le registre' : 'The board');
  check(await page.getByTestId('receipt-in-board').count() === 1, `${tag}: the explorer says the verified board holds the receipt`);
  await tab(page, lang === 'fr' ? 'Vérifier' : 'Verify');
  // A ballot check file, then the same file with its approvals edited.
  await page.getByTestId('audit-file').setInputFiles(AUDIT);
  await page.getByTestId('audit-result').waitFor();
  const audited = await page.getByTestId('audit-result').textContent();
  check(
    (await page.getByTestId('audit-result').getAttribute('data-ok')) === 'true' && AUDIT_APPROVED.every((a) => audited.includes(a)),
    `${tag}: a ballot check file checks against the verified board (${audited})`,
  );
  await shot(page, `${tag}-verify`);
  await axe(page, `${tag} verify`);
  await page.getByTestId('audit-file').setInputFiles(AUDIT_EDITED);
  await page.waitForFunction(() => document.querySelector('[data-testid=audit-result]')?.dataset.ok === 'false');
  check(true, `${tag}: an edited ballot check file is refused`);

  // A tampered export file, dropped on the page.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: CLI.title }).waitFor();
  await tab(page, lang === 'fr' ? 'Vérifier' : 'Verify');
  await page.getByTestId('export-file').setInputFiles(TAMPERED);
  await page.locator('[data-testid=checks], .error').first().waitFor({ timeout: 300000 });
  check(await page.locator('.error[role=alert]').count() === 0, `${tag}: the tampered export's verification ran to its report`);
  check((await page.getByTestId('verdict').getAttribute('data-status')) === 'invalid', `${tag}: the tampered export is invalid`);
  const failedChecks = await page.getByTestId('checks').locator('tr[data-status=fail]').evaluateAll((trs) => trs.map((tr) => tr.dataset.check));
  check(JSON.stringify(failedChecks) === JSON.stringify(TAMPERED_FAILS), `${tag}: it fails the checks urne-verify fails (${TAMPERED_FAILS.join(', ')}), got ${failedChecks.join(', ')}`);
  await shot(page, `${tag}-tampered`);
  await axe(page, `${tag} tampered`);

  // The board's tiles (§6.10), read like a static mirror: the same verdict
  // and checks as urne-verify --tiles; then a mirror that serves one
  // altered entry bundle, which must fail merkle-root.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: CLI.title }).waitFor();
  await tab(page, lang === 'fr' ? 'Vérifier' : 'Verify');
  await page.getByTestId('verify-tiles').click();
  await page.locator('[data-testid=checks], .error').first().waitFor({ timeout: 300000 });
  const fromTiles = await page.getByTestId('checks').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.dataset.check, tr.dataset.status]));
  check(JSON.stringify(fromTiles) === JSON.stringify(TILES.checks.map((c) => [c.name, c.status])), `${tag}: from the tiles, the browser's checks are urne-verify --tiles' (${JSON.stringify(fromTiles)})`);
  check((await page.getByTestId('verdict').getAttribute('data-status')) === TILES.status, `${tag}: from the tiles, the verdict is urne-verify --tiles' (${TILES.status})`);
  await shot(page, `${tag}-tiles`);
  await page.route('**/tile/entries/001', async (route) => {
    const r = await route.fetch();
    const body = Buffer.from(await r.body());
    body[body.length - 3] ^= 1;
    await route.fulfill({ response: r, body });
  });
  await page.reload();
  await page.getByRole('heading', { level: 1, name: CLI.title }).waitFor();
  await tab(page, lang === 'fr' ? 'Vérifier' : 'Verify');
  await page.getByTestId('verify-tiles').click();
  await page.locator('[data-testid=checks], .error').first().waitFor({ timeout: 300000 });
  check((await page.getByTestId('verdict').getAttribute('data-status')) === 'invalid', `${tag}: a mirror with an altered entry bundle is invalid`);
  const mirrorFails = await page.getByTestId('checks').locator('tr[data-status=fail]').evaluateAll((trs) => trs.map((tr) => tr.dataset.check));
  check(mirrorFails.includes('merkle-root'), `${tag}: it fails merkle-root (${mirrorFails.join(', ')})`);
  await page.unroute('**/tile/entries/001');
  await ctx.close();
}

await browser.close();
writeFileSync(join(OUT, 'site-results.json'), JSON.stringify(results, null, 2));
if (failed()) process.exit(1);
