// The voter's journey in headless Chromium against a real `urne serve`
// (started by server/tests/web.rs, which passes its address and the
// invitation links in the environment): two voters, French and English,
// a refused over-approval, a reload mid-flow, a checked ballot (Benaloh
// audit) saved to a file, a revote, receipts re-checked, the client digest
// shown, alice restoring her keys on a new device from her recovery code;
// bob uses the keyboard alone; axe-core on every
// step; screenshots at desktop and 375 px width.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { axe as axeRun, check, env, failed, launch, results } from './harness.mjs';

const SERVER = env('URNE_WEB_SERVER');
const SHOTS = env('URNE_WEB_SHOTS');
const OUT = env('URNE_WEB_OUT');
const links = { alice: env('URNE_WEB_LINK_ALICE'), bob: env('URNE_WEB_LINK_BOB') };
const browser = await launch();

// Bob uses the keyboard alone: each control is reached with the Tab key
// (at most 200 presses) and used with Enter or Space, never clicked.
async function press(v, locator, key) {
  if (!v.keyboard) {
    await (key === 'Space' ? locator.check() : locator.click());
    return;
  }
  await locator.waitFor({ timeout: 60000 });
  for (let i = 0; i < 200; i++) {
    if (await locator.evaluate((el) => el === document.activeElement)) {
      await v.page.keyboard.press(key);
      return;
    }
    await v.page.keyboard.press('Tab');
  }
  throw new Error(`${v.name}: ${locator} cannot be reached with the Tab key`);
}

async function voter(name, locale) {
  const context = await browser.newContext({ locale, bypassCSP: false, acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && console.error(`[${name} console] ${m.text()}`));
  page.on('pageerror', (e) => console.error(`[${name} pageerror] ${e}`));
  return { name, context, page, keyboard: name === 'bob' };
}

async function axe(v, step) {
  await axeRun(v.page, `${v.name} ${step}`);
}

async function shot(v, step) {
  await axe(v, step);
  await v.page.screenshot({ path: join(SHOTS, `${v.name}-${step}-desktop.png`), fullPage: true });
  await v.page.setViewportSize({ width: 375, height: 800 });
  await v.page.screenshot({ path: join(SHOTS, `${v.name}-${step}-375.png`), fullPage: true });
  const wide = await v.page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 375, `${v.name} ${step}: no horizontal scrolling at 375 px (${wide})`);
  await v.page.setViewportSize({ width: 1280, height: 900 });
}

const heading = (v, text) => v.page.getByRole('heading', { level: 1, name: text }).waitFor({ timeout: 60000 });
// A locator's text once it contains `text`, or its text after `ms` if it never does.
async function textWhen(locator, text, ms = 5000) {
  await locator.filter({ hasText: text }).waitFor({ timeout: ms }).catch(() => {});
  return ((await locator.textContent()) ?? '').trim();
}
const box = (v, id) => v.page.getByRole('checkbox', { name: new RegExp(`^${id} `) });
const click = (v, name) => press(v, v.page.getByRole('button', { name, exact: true }), 'Enter');

async function enrolAndCredential(v, w) {
  const started = Date.now();
  await v.page.goto(links[v.name]);
  await heading(v, w.join);
  results.timings[`${v.name}_page_load_ms`] = Date.now() - started;
  check(!(await v.page.evaluate(() => location.hash)), `${v.name}: the invitation is removed from the address bar`);
  await shot(v, '1-join');
  await click(v, w.join);
  await heading(v, w.recovery);
  const code = (await v.page.getByTestId('recovery-code').textContent()).trim();
  check(code.length >= 20, `${v.name}: a recovery code is shown`);
  await shot(v, '2-recovery');
  v.code = code;
  await click(v, w.kept);
  await heading(v, w.credential);
  await shot(v, '3-credential');
  await click(v, w.getCredential);
  await heading(v, new RegExp('^' + w.ballot + ' —'));
  results.timings[`${v.name}_credential_ms`] = await v.page.evaluate(() => window.urneTimings.credential);
}

const EN = { join: 'Join this election', recovery: 'Your recovery code', kept: 'I have kept my recovery code', credential: 'Your voting credential', getCredential: 'Get my credential', ballot: 'Your ballot', review: 'Review my choices', reviewTitle: 'Review your ballot', cast: 'Cast my ballot', audit: 'Check this ballot first', receipt: 'Your ballot is on the board', recheck: 'Check my receipt again', revote: 'Change my vote', auditFile: 'Download the checked ballot' };
const FR = { join: 'Rejoindre ce scrutin', recovery: 'Votre code de secours', kept: 'J’ai conservé mon code de secours', credential: 'Votre droit de vote anonyme', getCredential: 'Obtenir mon droit de vote', ballot: 'Votre bulletin', review: 'Relire mes choix', reviewTitle: 'Relisez votre bulletin', cast: 'Déposer mon bulletin', receipt: 'Votre bulletin est dans l’urne', recheck: 'Vérifier à nouveau mon reçu' };

try {
  const alice = await voter('alice', 'en-GB');
  const bob = await voter('bob', 'fr-FR');
  await enrolAndCredential(alice, EN);
  await enrolAndCredential(bob, FR);
  check((await bob.page.evaluate(() => document.documentElement.lang)) === 'fr', 'bob: the page is in French for a French browser');

  // The organiser opens the vote once both have their credential.
  execFileSync(env('URNE_BIN'), ['--server', SERVER, 'admin', 'open', '--election', env('URNE_WEB_ELECTION')], { stdio: 'inherit' });

  // Alice: an over-approval is refused, with a sentence.
  const p = alice.page;
  await box(alice, 'ana').check();
  await box(alice, 'bo').check();
  await box(alice, 'cy').check();
  const counter = p.getByTestId('counter');
  const over = await textWhen(counter, '3 selected');
  check(
    over === '3 selected (choose between 1 and 2)' && (await counter.getAttribute('class')) === 'counter off',
    `alice: the counter follows the approvals and marks too many (${over})`,
  );
  await click(alice, EN.review);
  const alert = await p.getByRole('alert').textContent();
  check(/at most 2/.test(alert), `alice: an over-approval is refused (${alert})`);
  await shot(alice, '4-over-approval');
  await box(alice, 'cy').uncheck();
  const within = await textWhen(counter, '2 selected');
  check(
    within === '2 selected (choose between 1 and 2)' && (await counter.getAttribute('class')) === 'counter',
    `alice: the counter follows an approval taken back (${within})`,
  );
  // Search and filter.
  await p.getByLabel('Search candidates').fill('d');
  check((await p.getByRole('checkbox').count()) === 1, 'alice: search narrows the list');
  await p.getByLabel('Search candidates').fill('');
  // A reload mid-flow keeps the choices.
  await p.reload();
  await heading(alice, /^Your ballot —/);
  check((await box(alice, 'ana').isChecked()) && (await box(alice, 'bo').isChecked()), 'alice: choices survive a reload');
  await click(alice, EN.review);
  await heading(alice, EN.reviewTitle);
  // The cast-as-intended check: the checked ballot goes to a file, then is discarded.
  await click(alice, EN.audit);
  const dl = p.waitForEvent('download');
  await p.getByRole('button', { name: EN.auditFile }).click();
  const file = join(OUT, 'alice-ballot-check.json');
  await (await dl).saveAs(file);
  results.timings.audit_ms = await p.evaluate(() => window.urneTimings.audit);
  await shot(alice, '5-review-checked');
  await click(alice, EN.cast);
  await heading(alice, EN.receipt);
  results.timings.ballot_ms = await p.evaluate(() => window.urneTimings.ballot);
  check(/entry \d+ of the board/.test(await p.getByTestId('receipt').textContent()), 'alice: the receipt is checked at once');
  const asked = [];
  const listen = (r) => asked.push(new URL(r.url()).pathname + new URL(r.url()).search);
  p.on('request', listen);
  await click(alice, EN.recheck);
  await p.getByText('Still included and not replaced').waitFor({ timeout: 60000 });
  p.off('request', listen);
  const cosigned = await p.getByRole('status').textContent();
  check(/cosigned by the independent witnesses w1\.web\/witness/.test(cosigned), `alice: the re-check names the witness that cosigned (${cosigned})`);
  check(asked.some((u) => /\/tile\/entries\/\d{3}(\.p\/\d+)?$/.test(u)), `alice: the re-check reads entry bundles (${asked.join(' ')})`);
  // Nothing that names one entry: no paged read, no inclusion proof (the
  // setup's consistency proof from the entry that opened the vote is the
  // same for every voter).
  check(!asked.some((u) => /\/entries\?|\/proof\/inclusion/.test(u)), `alice: the re-check asks for no single entry and no inclusion proof (${asked.join(' ')})`);
  await shot(alice, '6-receipt');
  const firstReceipt = await p.getByTestId('receipt').textContent();
  // The page shows the client digest its election's manifest names, and
  // that the service serves that client.
  const served = (await (await fetch(SERVER + '/')).headers.get('x-urne-client-digest')) ?? '';
  const shown = await textWhen(p.getByTestId('client-digest'), 'This page is that one');
  check(served.length === 64 && shown.includes(served) && shown.includes('This page is that one'), `alice: the page shows the election's client digest and that it is served (${shown})`);

  // Alice revotes: the last ballot counts.
  await click(alice, EN.revote);
  await heading(alice, /^Your ballot —/);
  check(await p.getByText('only your last ballot counts').isVisible(), 'alice: the revote page says the last ballot counts');
  await box(alice, 'di').check();
  await click(alice, EN.review);
  await heading(alice, EN.reviewTitle);
  await click(alice, EN.cast);
  await heading(alice, EN.receipt);
  check((await p.getByTestId('receipt').textContent()) !== firstReceipt, 'alice: the revote has its own receipt');
  const revoteReceipt = await p.getByTestId('receipt').textContent();

  // Alice on a new device: her invitation is used, so she restores her
  // voting keys from her recovery code, gets the same credential back and
  // votes again.
  const boardSize = async () => Number((await (await fetch(`${SERVER}/v1/elections/${env('URNE_WEB_ELECTION')}/checkpoint`)).text()).split('\n')[1]);
  const sizeBefore = await boardSize();
  const phone = await voter('alice-restored', 'en-GB');
  const q = phone.page;
  await q.goto(links.alice);
  await heading(phone, EN.join);
  await click(phone, EN.join);
  const used = await textWhen(q.getByRole('alert'), 'already used');
  check(/recovery code/.test(used), `alice-restored: joining again is refused with a pointer to the recovery code (${used})`);
  await q.getByLabel('Recovery code').fill('not-a-code');
  await click(phone, 'Restore my voting keys');
  const bad = await textWhen(q.getByRole('alert'), 'not a recovery code');
  check(/not a recovery code/.test(bad), `alice-restored: a mistyped code is refused with a sentence (${bad})`);
  await q.getByLabel('Recovery code').fill(alice.code.toLowerCase().replaceAll('-', ' '));
  await shot(phone, '1-restore');
  await click(phone, 'Restore my voting keys');
  await heading(phone, EN.credential);
  const restored = await textWhen(q.getByRole('status'), 'already on the board');
  check(/A ballot of yours is already on the board \(entry \d+\)/.test(restored), `alice-restored: the page finds her earlier ballot (${restored})`);
  await click(phone, EN.getCredential);
  await heading(phone, new RegExp('^' + EN.ballot + ' —'));
  const sizeAfter = await boardSize();
  check(sizeAfter === sizeBefore, `alice-restored: the credential comes back from the registrar's stored answer, nothing is appended (${sizeBefore} → ${sizeAfter})`);
  check(await q.getByText('only your last ballot counts').isVisible(), 'alice-restored: the ballot page says the last ballot counts');
  await box(phone, 'ana').check();
  await click(phone, EN.review);
  await heading(phone, EN.reviewTitle);
  await click(phone, EN.cast);
  await heading(phone, EN.receipt);
  const phoneReceipt = await q.getByTestId('receipt').textContent();
  check(/entry \d+ of the board/.test(phoneReceipt) && phoneReceipt !== revoteReceipt, `alice-restored: her ballot from the new device has its own receipt (${phoneReceipt})`);
  await shot(phone, '2-receipt');
  await phone.context.close();

  // Bob votes in French, on a phone-sized screen.
  await bob.page.setViewportSize({ width: 375, height: 800 });
  await press(bob, box(bob, 'bo'), 'Space');
  check(await box(bob, 'bo').isChecked(), 'bob: the Space key ticks a candidate');
  await click(bob, FR.review);
  await heading(bob, FR.reviewTitle);
  await click(bob, FR.cast);
  await heading(bob, FR.receipt);
  await bob.page.setViewportSize({ width: 1280, height: 900 });
  await shot(bob, '6-receipt');
  // The language switch.
  await press(bob, bob.page.getByRole('button', { name: 'Read this page in English' }), 'Enter');
  await heading(bob, 'Your ballot is on the board');
  await bob.page.waitForFunction(() => document.documentElement.lang === 'en', null, { timeout: 5000 }).catch(() => {});
  const lang = await bob.page.evaluate(() => document.documentElement.lang);
  const toFrench = await bob.page.getByRole('button', { name: 'Lire cette page en français' }).count();
  const receipt = await bob.page.getByTestId('receipt').textContent();
  check(
    lang === 'en' && toFrench === 1 && /entry \d+ of the board/.test(receipt),
    `bob: the language switch turns the page, receipt included, to English (lang ${lang}, ${receipt})`,
  );
  writeFileSync(join(OUT, 'digest.txt'), (await (await fetch(SERVER + '/')).headers.get('x-urne-client-digest')) ?? '');
} catch (e) {
  check(false, `the journey ran to its end (${e})`);
} finally {
  writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 2));
  await browser.close();
}
process.exit(failed() ? 1 : 0);
