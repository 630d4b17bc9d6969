// The voter web app: invitation link → enrolment → recovery code →
// credential → ballot (with the cast-as-intended check) → checked receipt
// → revote. The protocol steps run in urne-wasm (urne-client compiled to
// WebAssembly); this file does the HTTP calls, keeps the wallet in
// IndexedDB (saved before each request) and shows the steps.
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import init, * as urne from '../pkg/urne_wasm.js';
import { ApiError, fromBase64, getJson, getText, getTile, postCbor, postJson, servedClientDigest, toHex } from './api';
import { initialLang, Lang, words, Words } from './i18n';
import * as store from './store';
import type { Receipt, Wallet } from './store';
import { download, Header } from './page';
import './style.css';

interface Candidate {
  id: string;
  category: string;
}
interface Summary {
  election: string;
  title: string;
  client_digest: string;
  constituency: { id: string; name: string; min: number; max: number; candidates: Candidate[] } | null;
  on_roster: boolean;
  key_published: boolean;
  opened: boolean;
}

/** Timings of the last steps, in milliseconds (read by the benchmarks). */
const timings: Record<string, number> = {};
(window as unknown as { urneTimings: typeof timings }).urneTimings = timings;

/** A wasm error text `{code, message}` or an ApiError, as a code. */
function codeOf(e: unknown): string {
  if (e instanceof ApiError) return e.code;
  if (typeof e === 'string') {
    try {
      return JSON.parse(e).code ?? 'default';
    } catch {
      return 'default';
    }
  }
  return 'default';
}

const base = (election: string) => `/v1/elections/${election}`;

/** Something fed board entries in order: one by one, or as entry bundles. */
interface EntrySink {
  push(entry: Uint8Array): void;
  push_bundle(bundle: Uint8Array, first: number, width: number): void;
  /** Whether it takes another entry (a setup read stops at the vote's opening). */
  wants(): boolean;
}

/**
 * Feeds `sink` the entries from `at` of the entry bundle holding entry `at`
 * (§6.10) of a board of `size` entries: the same cacheable file for every
 * voter, so the service does not learn which entry is this voter's. A bundle
 * the service cannot serve (it holds an entry too long for one) is read from
 * the paged API over the bundle's whole range.
 */
async function readBundle(election: string, at: number, size: number, sink: EntrySink): Promise<void> {
  const first = at - (at % 256);
  const width = Math.min(256, size - first);
  try {
    sink.push_bundle(await getTile(`${base(election)}/${urne.entry_bundle_path(first / 256, width)}`), first, width);
    return;
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'entry_too_large') throw e;
  }
  for (let next = at; next < first + width; ) {
    const page = await getJson<{ entries: string[] }>(`${base(election)}/entries?start=${next}&end=${first + width}`);
    if (page.entries.length === 0) throw new ApiError('bad_answer', `no entry ${next}`);
    for (const e of page.entries) {
      if (!sink.wants()) return;
      sink.push(fromBase64(e));
    }
    next += page.entries.length;
  }
}

/** Reads the board's setup under the pinned board key. */
async function readElection(election: string, boardKey: string): Promise<urne.Election> {
  const presented = urne.board_key_of(await getText('/v1/board-key'));
  if (boardKey && presented !== boardKey) throw JSON.stringify({ code: 'board_key_changed', message: presented });
  const note = await getText(`${base(election)}/checkpoint`);
  const reader = new urne.BoardReader(presented, election, note);
  const size = reader.checkpoint_size();
  const sink: EntrySink = {
    push: (e) => reader.push(e),
    push_bundle: (b, first, width) => reader.push_bundle(b, first, width),
    wants: () => reader.next_index() !== undefined,
  };
  for (let at = reader.next_index(); at !== undefined; at = reader.next_index()) {
    await readBundle(election, at, size, sink);
  }
  const from = reader.consistency_from();
  let proof: string | undefined;
  if (from !== undefined) {
    const p = await getJson<{ hashes: string[] }>(`${base(election)}/proof/consistency?from=${from}&to=${size}`);
    proof = JSON.stringify(p.hashes);
  }
  return reader.finish(proof);
}

async function checkedReceipt(el: urne.Election, election: string, entry: Uint8Array, answer: string): Promise<Receipt> {
  const v = JSON.parse(answer);
  const r = v.receipt ?? v;
  let inclusion: string | undefined;
  if (!r.inclusion) {
    const p = await getJson<{ hashes: string[] }>(`${base(election)}/proof/inclusion?index=${r.index}&size=${r.size}`);
    inclusion = JSON.stringify(p.hashes);
  }
  return JSON.parse(el.check_receipt(entry, answer, inclusion));
}


function App() {
  const [lang, setLang] = useState<Lang>(initialLang());
  const t: Words = words[lang];
  const [wallet, setWallet] = useState<Wallet | null | undefined>(undefined);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [servedClient, setServedClient] = useState<string | null>(null);
  const [restoreCode, setRestoreCode] = useState('');
  useEffect(() => {
    servedClientDigest().then(setServedClient, () => setServedClient(null));
  }, []);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [audit, setAudit] = useState<string | null>(null);
  const [delay, setDelay] = useState(0);
  const [query, setQuery] = useState('');
  const [category, setCategory] = useState('');
  const election = useRef<urne.Election | null>(null);
  const skipDelay = useRef(false);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t.title;
  }, [lang]);

  const fail = (e: unknown) => {
    const code = codeOf(e);
    console.warn('urne:', code, e);
    setError(t.errors[code] ?? t.errors.default);
    setBusy(false);
  };

  async function update(w: Wallet) {
    await store.save(w);
    setWallet({ ...w });
  }

  async function refresh(w: Wallet) {
    const el = await readElection(w.election, w.boardKey);
    election.current = el;
    if (!w.boardKey) w.boardKey = el.board_key();
    setSummary(JSON.parse(el.summary(w.pseudonym)));
    return el;
  }

  // Start: an invitation in the fragment, else the wallet kept in this browser.
  useEffect(() => {
    (async () => {
      await init();
      const m = location.hash.match(/^#join=(.+)$/);
      if (m) {
        history.replaceState(null, '', location.pathname);
        const inv = JSON.parse(urne.parse_invitation(decodeURIComponent(m[1])));
        const id = `${inv.election}:${inv.pseudonym}`;
        let w = await store.load(id);
        if (!w) {
          w = { id, election: inv.election, pseudonym: inv.pseudonym, token: inv.token, secret: urne.new_recovery_secret(), boardKey: '', ballots: [] };
        }
        await refresh(w);
        await update(w);
        return;
      }
      const w = await store.current();
      if (w) await refresh(w);
      setWallet(w ?? null);
    })().catch((e) => {
      setWallet(null);
      fail(e);
    });
  }, []);

  const step = !wallet
    ? 'none'
    : !wallet.enrolment && !wallet.restored
      ? 'join'
      : !wallet.recoveryKept
        ? 'recovery'
        : !wallet.credential
          ? 'credential'
          : wallet.ballots.length === 0 || wallet.revoting
            ? wallet.reviewing
              ? 'review'
              : 'ballot'
            : 'receipt';

  useEffect(() => {
    heading.current?.focus();
  }, [step]);

  const act = (f: () => Promise<void>) => async () => {
    setError(null);
    setNote(null);
    setBusy(true);
    try {
      await f();
    } catch (e) {
      fail(e);
      return;
    }
    setBusy(false);
  };

  const enrol = act(async () => {
    const w = wallet!;
    const el = election.current ?? (await refresh(w));
    if (!summary?.on_roster) throw JSON.stringify({ code: 'not_on_roster' });
    w.boardKey = el.board_key();
    await store.save(w); // the secret is kept before anything is sent
    const entry = el.enrollment_entry(w.secret, w.pseudonym);
    const answer = await postJson(`${base(w.election)}/enroll`, { token: w.token, entry: toHex(entry) });
    w.enrolment = await checkedReceipt(el, w.election, entry, answer);
    delete w.token;
    await update(w);
  });

  // Rebuilds the wallet from its recovery code (§3.9): reads the whole
  // board for the code's enrolment, issuance and ballots, so the service
  // does not learn who is looking; the credential is then asked again with
  // the same blinded request, and the registrar's stored answer gives it back.
  const restore = act(async () => {
    const w = wallet!;
    let secret: string;
    try {
      secret = urne.recovery_secret_of_code(restoreCode);
    } catch {
      throw JSON.stringify({ code: 'recovery_code_invalid' });
    }
    const el = await refresh(w);
    const note = await getText(`${base(w.election)}/checkpoint`);
    const reader = el.trail_reader(secret, note);
    const sink: EntrySink = {
      push: (e) => reader.push(e),
      push_bundle: (b, first, width) => reader.push_bundle(b, first, width),
      wants: () => reader.read() < reader.size(),
    };
    while (reader.read() < reader.size()) await readBundle(w.election, reader.read(), reader.size(), sink);
    const r = JSON.parse(el.restore(secret, w.pseudonym, reader));
    w.secret = secret;
    w.restored = true;
    w.recoveryKept = true;
    delete w.token;
    if (r.commitment) w.commitment = JSON.stringify(r.commitment);
    if (r.issued_while_open !== null) w.issuedWhileOpen = r.issued_while_open;
    if (r.last_ballot !== null) w.earlierBallot = r.last_ballot;
    setRestoreCode('');
    await update(w);
    setNote(r.last_ballot !== null ? t.restoredVoted(r.last_ballot) : t.restored);
  });

  const credential = act(async () => {
    const w = wallet!;
    const el = await refresh(w);
    const s: Summary = JSON.parse(el.summary(w.pseudonym));
    if (!s.key_published) {
      setNote(t.credentialWait);
      return;
    }
    const started = performance.now();
    if (!w.commitment) {
      const body = JSON.parse(el.commit_request(w.secret, w.pseudonym));
      w.commitment = await postJson(`${base(w.election)}/credential/commit`, body);
      await update(w);
    }
    const entry = el.issuance_entry(w.secret, w.pseudonym, w.commitment);
    const answer = await postCbor(`${base(w.election)}/credential/respond`, entry);
    const cred = el.finish_credential(w.secret, w.pseudonym, w.commitment, answer);
    w.credentialReceipt = await checkedReceipt(el, w.election, entry, answer);
    w.credential = cred;
    w.credentialTime = { at: Math.floor(Date.now() / 1000), while_open: w.issuedWhileOpen ?? s.opened };
    delete w.commitment;
    timings.credential = performance.now() - started;
    await update(w);
  });

  const draft = wallet?.draft ?? [];
  const c = summary?.constituency;

  const toggle = (id: string) => {
    const w = wallet!;
    const set = new Set(draft);
    set.has(id) ? set.delete(id) : set.add(id);
    w.draft = c!.candidates.map((k) => k.id).filter((k) => set.has(k));
    update(w);
  };

  const review = () => {
    setError(null);
    const n = draft.length;
    if (n > c!.max) return setError(t.tooMany(n, c!.max));
    if (n < c!.min) return setError(t.tooFew(n, c!.min));
    try {
      election.current!.check_choices(wallet!.pseudonym, JSON.stringify(draft));
    } catch (e) {
      return fail(e);
    }
    setAudit(null);
    update({ ...wallet!, reviewing: true });
  };

  const checkBallot = act(async () => {
    const w = wallet!;
    const started = performance.now();
    const file = election.current!.audit_ballot(w.secret, w.pseudonym, JSON.stringify(draft));
    timings.audit = performance.now() - started;
    setAudit(file);
  });

  const cast = act(async () => {
    const w = wallet!;
    const el = await refresh(w);
    let wait = urne.cast_delay(w.credentialTime ? JSON.stringify(w.credentialTime) : '', Math.floor(Date.now() / 1000), urne.default_max_cast_delay());
    skipDelay.current = false;
    while (wait > 0 && !skipDelay.current) {
      setDelay(wait);
      await new Promise((r) => setTimeout(r, 1000));
      wait -= 1;
    }
    setDelay(0);
    const started = performance.now();
    const entry = el.ballot_entry(w.secret, w.pseudonym, w.credential!, JSON.stringify(draft));
    timings.ballot = performance.now() - started;
    const answer = await postCbor(`${base(w.election)}/ballots`, entry);
    const receipt = await checkedReceipt(el, w.election, entry, answer);
    w.ballots.push(receipt);
    delete w.draft;
    w.reviewing = false;
    w.revoting = false;
    setAudit(null);
    await update(w);
  });

  const recheck = act(async () => {
    const w = wallet!;
    const el = await refresh(w);
    const last = w.ballots[w.ballots.length - 1];
    // The newest checkpoint a quorum of witnesses cosigned, waited for up
    // to 15 s (they cosign within seconds); none is needed without witnesses.
    const deadline = performance.now() + 15000;
    let note = await getText(`${base(w.election)}/checkpoint`);
    let witnessing = JSON.parse(el.witnessing(note));
    while (!witnessing.witnessed) {
      if (performance.now() > deadline) throw new ApiError('not_witnessed', `${witnessing.cosigned.length} of ${witnessing.quorum}`);
      await new Promise((done) => setTimeout(done, 250));
      note = await getText(`${base(w.election)}/checkpoint`);
      witnessing = JSON.parse(el.witnessing(note));
    }
    const scan = el.recheck(w.secret, w.pseudonym, JSON.stringify(last), note);
    const sink: EntrySink = {
      push: (e) => scan.push(e),
      push_bundle: (b, first, width) => scan.push_bundle(b, first, width),
      wants: () => scan.read() < scan.size(),
    };
    while (scan.read() < scan.size()) await readBundle(w.election, scan.read(), scan.size(), sink);
    const r = JSON.parse(scan.finish());
    const witnessed = witnessing.witnesses > 0 ? t.witnessedBy(witnessing.cosigned) : t.noWitnesses;
    setNote(`${r.counted ? t.stillCounted(r.size) : t.replaced(r.replaced_by)} ${witnessed}`);
  });

  const categories = useMemo(() => [...new Set((c?.candidates ?? []).map((k) => k.category))].sort(), [c]);
  const shown = (c?.candidates ?? []).filter(
    (k) => (!category || k.category === category) && k.id.toLowerCase().includes(query.trim().toLowerCase()),
  );
  const code = wallet ? urne.recovery_code(wallet.secret) : '';

  return (
    <>
      <Header lang={lang} setLang={setLang} label={t.switchLabel} switchTo={t.switchTo} />
      <main>
        {summary && <p class="election">{summary.title}</p>}
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        {note && (
          <p role="status" class="note">
            {note}
          </p>
        )}
        {wallet === undefined && <p>{t.loading}</p>}
        {step === 'none' && wallet === null && (
          <section>
            <h1 tabIndex={-1} ref={heading}>
              urne
            </h1>
            <p>{t.noInvitation}</p>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                const v = (e.currentTarget.elements.namedItem('link') as HTMLInputElement).value;
                const i = v.indexOf('#join=');
                location.hash = i >= 0 ? v.slice(i) : '#join=' + v.trim();
                location.reload();
              }}
            >
              <label for="link">{t.invitationLabel}</label>
              <input id="link" name="link" type="text" autocomplete="off" />
              <button type="submit">{t.open}</button>
            </form>
          </section>
        )}
        {step === 'join' && (
          <section>
            <h1 tabIndex={-1} ref={heading}>
              {t.join}
            </h1>
            <p>{t.joinIntro(wallet!.pseudonym)}</p>
            <button type="button" disabled={busy} onClick={enrol}>
              {t.join}
            </button>
            <h2>{t.restoreTitle}</h2>
            <p>{t.restoreIntro}</p>
            <label for="restore-code">{t.restoreLabel}</label>
            <input
              id="restore-code"
              type="text"
              autocomplete="off"
              spellcheck={false}
              value={restoreCode}
              onInput={(e) => setRestoreCode((e.target as HTMLInputElement).value)}
            />
            <button type="button" disabled={busy || !restoreCode.trim()} onClick={restore}>
              {t.restore}
            </button>
          </section>
        )}
        {step === 'recovery' && (
          <section>
            <h1 tabIndex={-1} ref={heading}>
              {t.recoveryTitle}
            </h1>
            <p class="code" data-testid="recovery-code">
              {code}
            </p>
            <p>{t.recoveryWhy}</p>
            <div class="row">
              <button type="button" onClick={() => download('urne-recovery-code.txt', `${t.recoveryTitle}: ${code}\n\n${t.recoveryWhy}\n`)}>
                {t.download}
              </button>
              <button type="button" onClick={() => window.print()}>
                {t.print}
              </button>
            </div>
            <button type="button" onClick={() => update({ ...wallet!, recoveryKept: true })}>
              {t.kept}
            </button>
          </section>
        )}
        {step === 'credential' && (
          <section>
            <h1 tabIndex={-1} ref={heading}>
              {t.credentialTitle}
            </h1>
            <p>{t.credentialWhy}</p>
            <button type="button" disabled={busy} onClick={credential}>
              {note === t.credentialWait ? t.tryAgain : t.getCredential}
            </button>
          </section>
        )}
        {step === 'ballot' && c && (
          <section>
            <h1 tabIndex={-1} ref={heading}>
              {t.ballotTitle} — {c.name}
            </h1>
            {(wallet!.revoting || (wallet!.earlierBallot !== undefined && wallet!.ballots.length === 0)) && <p>{t.revoteNote}</p>}
            <div class="filters">
              <label>
                {t.search}
                <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
              </label>
              <label>
                {t.category}
                <select value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
                  <option value="">{t.all}</option>
                  {categories.map((k) => (
                    <option value={k}>{k}</option>
                  ))}
                </select>
              </label>
            </div>
            <p role="status" aria-live="polite" class={draft.length > c.max || draft.length < c.min ? 'counter off' : 'counter'} data-testid="counter">
              {t.counter(draft.length, c.min, c.max)}
            </p>
            <fieldset>
              <legend>{t.ballotTitle}</legend>
              <ul class="candidates">
                {shown.map((k) => (
                  <li>
                    <input type="checkbox" id={`c-${k.id}`} checked={draft.includes(k.id)} onChange={() => toggle(k.id)} />
                    <label for={`c-${k.id}`}>
                      {k.id} <span class="cat">({k.category})</span>
                    </label>
                  </li>
                ))}
              </ul>
            </fieldset>
            <button type="button" onClick={review}>
              {t.review}
            </button>
          </section>
        )}
        {step === 'review' && c && (
          <section>
            <h1 tabIndex={-1} ref={heading}>
              {t.reviewTitle}
            </h1>
            <p>{t.youApprove}</p>
            <ul data-testid="review-list">
              {draft.map((id) => (
                <li>{id}</li>
              ))}
            </ul>
            {audit && (
              <div class="note" role="status">
                <p>{t.auditDone}</p>
                <button type="button" onClick={() => download('urne-ballot-check.json', audit, 'application/json')}>
                  {t.auditFile}
                </button>
              </div>
            )}
            {delay > 0 && (
              <div role="status">
                <p>{t.waiting(delay)}</p>
                <button type="button" onClick={() => (skipDelay.current = true)}>
                  {t.sendNow}
                </button>
              </div>
            )}
            {busy && delay === 0 && <p role="status">{t.casting}</p>}
            <div class="row">
              <button type="button" class="primary" disabled={busy} onClick={cast}>
                {t.cast}
              </button>
              <button type="button" disabled={busy} onClick={checkBallot}>
                {t.audit}
              </button>
              <button type="button" disabled={busy} onClick={() => update({ ...wallet!, reviewing: false })}>
                {t.change}
              </button>
            </div>
          </section>
        )}
        {step === 'receipt' && (
          <section>
            <h1 tabIndex={-1} ref={heading}>
              {t.receiptTitle}
            </h1>
            <p data-testid="receipt">{t.receiptChecked(wallet!.ballots[wallet!.ballots.length - 1].index, wallet!.ballots[wallet!.ballots.length - 1].size)}</p>
            <div class="row">
              <button type="button" disabled={busy} onClick={recheck}>
                {t.recheck}
              </button>
              <button type="button" disabled={busy} onClick={() => update({ ...wallet!, revoting: true, reviewing: false })}>
                {t.revote}
              </button>
            </div>
          </section>
        )}
      </main>
      {summary && (
        <footer>
          <p data-testid="client-digest">
            {t.clientDigest(summary.client_digest)}
            {servedClient !== null && ' ' + (servedClient === summary.client_digest ? t.clientMatches : t.clientDiffers)}
          </p>
        </footer>
      )}
    </>
  );
}

render(<App />, document.getElementById('app')!);
