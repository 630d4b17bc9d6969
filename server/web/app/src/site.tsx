// The public election site: the elections list and, per election, its
// overview, the results, the lottery explained, a board explorer with a
// receipt check, and the whole verification run in this browser by
// urne-verify's library (WebAssembly, one Web Worker per core). Results,
// lottery and verdict all come from that verification, never from the
// service's word.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import init, { check_ballot_audit, check_receipt, describe_entry, report_text } from '../pkg-verify/urne_verify_wasm.js';
import { fromBase64, getBytes, getJson, getText } from './api';
import { initialLang, Lang } from './i18n';
import { siteWords, SiteWords } from './site-words';
import { Board, ConstituencyResult, DrawStep, fetchTiles, Report, verifyBoard, workerCount } from './verify';
import { download, Header } from './page';
import './style.css';

/** Timings of the last verification, in milliseconds (read by the benchmarks). */
const timings: Record<string, number> = {};
(window as unknown as { urneTimings: typeof timings }).urneTimings = timings;

interface Status {
  election: string;
  title: string;
  phase: string;
  size: number;
  threshold: number;
  trustees: number;
  voting_opens: number;
  voting_closes: number;
  constituencies: {
    id: string;
    name: string;
    candidates: { id: string; category: string }[];
    seats: number;
    lottery_seats: number;
    quotas: { category: string; min: number; max: number }[];
    parity: string;
    members: number;
    enrolled: number;
    issuances: number;
    ballots: number;
  }[];
  lottery: {
    method: string;
    beacon_network: string | null;
    beacon_round: number | null;
    contributors: number;
    contributor_names: string[];
    commits: number[];
    reveals: number[];
    reveals_closed: boolean;
    withheld: number[];
  };
  witnesses: string[];
  witness_quorum: number;
}

type Tab = 'overview' | 'results' | 'lottery' | 'board' | 'verify';
const TABS: Tab[] = ['overview', 'results', 'lottery', 'board', 'verify'];

const api = (id: string) => `/v1/elections/${id}`;


/** The message of a wasm refusal (JSON `{code, message}`), or the error's text. */
function errorMessage(e: unknown): string {
  const m = String(e);
  try {
    return JSON.parse(m).message ?? m;
  } catch {
    return m;
  }
}

function when(unix: number, lang: Lang): string {
  return new Date(unix * 1000).toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'long', timeStyle: 'short' });
}

function App() {
  const [lang, setLang] = useState<Lang>(initialLang());
  const t = siteWords[lang];
  const [ready, setReady] = useState(false);
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t.title;
  }, [lang]);
  useEffect(() => {
    init().then(() => setReady(true));
  }, []);
  const m = location.pathname.match(/^\/elections\/([0-9a-f]{64})\/?$/);
  return (
    <>
      <Header lang={lang} setLang={setLang} label={t.switchLabel} switchTo={t.switchTo} home="/elections" />
      <main class="site">{!ready ? <p>{t.loading}</p> : m ? <Election id={m[1]} t={t} lang={lang} /> : <ElectionList t={t} />}</main>
    </>
  );
}

function ElectionList({ t }: { t: SiteWords }) {
  const [list, setList] = useState<Status[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    (async () => {
      const { elections } = await getJson<{ elections: string[] }>('/v1/elections');
      setList(await Promise.all(elections.map((e) => getJson<Status>(api(e)))));
    })().catch((e) => setError(String(e)));
  }, []);
  return (
    <>
      <h1>{t.elections}</h1>
      {error && <p class="error" role="alert">{t.error(error)}</p>}
      {!list && !error && <p>{t.loading}</p>}
      {list?.length === 0 && <p>{t.noElections}</p>}
      <ul class="elections">
        {list?.map((s) => (
          <li key={s.election}>
            <a href={`/elections/${s.election}`}>{s.title}</a> — {t.phase(s.phase)}
          </li>
        ))}
      </ul>
    </>
  );
}

function Election({ id, t, lang }: { id: string; t: SiteWords; lang: Lang }) {
  const [status, setStatus] = useState<Status | null>(null);
  const [tab, setTab] = useState<Tab>(TABS.find((k) => `#${k}` === location.hash) ?? 'overview');
  const [report, setReport] = useState<Report | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [fetching, setFetching] = useState(false);
  const [tileBase, setTileBase] = useState(`${location.origin}${api(id)}`);
  const [seconds, setSeconds] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [receipts, setReceipts] = useState<{ index: number; checkpoint: string }[]>([]);
  const workers = workerCount();

  useEffect(() => {
    getJson<Status>(api(id)).then(setStatus, (e) => setError(String(e)));
  }, [id]);
  useEffect(() => {
    history.replaceState(null, '', `#${tab}`);
  }, [tab]);

  async function verify(source: 'board' | File | { tiles: string }) {
    setError(null);
    setReport(null);
    setProgress(0);
    setFetching(source !== 'board' && !(source instanceof File));
    const started = performance.now();
    try {
      const board: Board =
        source === 'board'
          ? { kind: 'export', bytes: await getBytes(`${api(id)}/export`) }
          : source instanceof File
            ? { kind: 'export', bytes: await source.arrayBuffer() }
            : await fetchTiles(source.tiles.replace(/\/+$/, ''), (f) => setProgress(Math.round(f * 100)));
      setFetching(false);
      setProgress(0);
      const fetched = performance.now();
      const r = await verifyBoard(
        board,
        workers,
        receipts.map((x) => x.checkpoint),
        (f) => setProgress(Math.round(f * 100)),
      );
      const end = performance.now();
      timings.fetch = fetched - started;
      timings.verify = end - fetched;
      timings.workers = workers;
      setSeconds((end - started) / 1000);
      setReport(r);
    } catch (e) {
      setError(String(e));
    }
    setFetching(false);
    setProgress(null);
  }

  const runner = (
    <div class="verify-run">
      {progress === null && !report && (
        <button type="button" class="primary" onClick={() => verify('board')} data-testid="verify-board">
          {tab === 'verify' ? t.verifyBoard : t.verifyFirst}
        </button>
      )}
      {progress !== null && (
        <p role="status">
          {fetching ? t.fetchingTiles : t.verifying} <progress max={100} value={progress} aria-label={fetching ? t.fetchingTiles : t.verifying} />{' '}
          {fetching ? `${progress} %` : t.progress(progress, workers)}
        </p>
      )}
    </div>
  );

  return (
    <>
      <h1>{status?.title ?? t.loading}</h1>
      {status && <p class="election">{t.phase(status.phase)}</p>}
      <nav aria-label={t.parts} class="tabs">
        {TABS.map((k) => (
          <button type="button" key={k} aria-current={tab === k ? 'page' : undefined} onClick={() => setTab(k)}>
            {t.tabs[k]}
          </button>
        ))}
      </nav>
      {error && <p class="error" role="alert">{t.error(error)}</p>}
      {report && <Verdict report={report} t={t} seconds={seconds} />}
      {tab === 'overview' && status && <Overview status={status} t={t} lang={lang} />}
      {tab === 'results' && (
        <section aria-labelledby="results-h">
          <h2 id="results-h">{t.tabs.results}</h2>
          <p>{t.resultsIntro}</p>
          {report ? <Results report={report} t={t} /> : runner}
        </section>
      )}
      {tab === 'lottery' && (
        <section aria-labelledby="lottery-h">
          <h2 id="lottery-h">{t.tabs.lottery}</h2>
          <p>{t.lotteryIntro}</p>
          {report ? <LotteryView report={report} status={status} t={t} /> : runner}
        </section>
      )}
      {tab === 'board' && <Board id={id} size={status?.size ?? 0} t={t} receipts={receipts} setReceipts={setReceipts} report={report} />}
      {tab === 'verify' && (
        <section aria-labelledby="verify-h">
          <h2 id="verify-h">{t.tabs.verify}</h2>
          <p>{t.verifyIntro}</p>
          {runner}
          {progress === null && (
            <label>
              {t.verifyFile}
              <input
                type="file"
                data-testid="export-file"
                onChange={(e) => {
                  const f = (e.target as HTMLInputElement).files?.[0];
                  if (f) verify(f);
                }}
              />
            </label>
          )}
          {progress === null && (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                verify({ tiles: tileBase });
              }}
            >
              <label>
                {t.tileBase}
                <input type="url" value={tileBase} onInput={(e) => setTileBase((e.target as HTMLInputElement).value)} data-testid="tile-base" />
              </label>
              <button type="submit" data-testid="verify-tiles">
                {t.verifyTiles}
              </button>
            </form>
          )}
          {report && <Checks report={report} t={t} />}
          {report && report.election_key && <AuditCheck id={id} report={report} t={t} />}
        </section>
      )}
    </>
  );
}

function Verdict({ report, t, seconds }: { report: Report; t: SiteWords; seconds: number | null }) {
  const failed = report.checks.filter((c) => c.status === 'fail').map((c) => c.name);
  return (
    <div class={report.valid ? 'note' : 'error'} role="status" data-testid="verdict" data-status={report.status}>
      <strong>{report.status === 'valid' ? t.valid : report.status === 'valid-so-far' ? t.validSoFar : t.invalid(failed)}</strong>
      {seconds !== null && <> {t.took(seconds.toFixed(1), report.entries)}</>}
    </div>
  );
}

function Overview({ status, t, lang }: { status: Status; t: SiteWords; lang: Lang }) {
  return (
    <section aria-labelledby="overview-h">
      <h2 id="overview-h">{t.tabs.overview}</h2>
      <p>{t.schedule(when(status.voting_opens, lang), when(status.voting_closes, lang))}</p>
      <p>{t.trustees(status.threshold, status.trustees)}</p>
      <p>{status.witnesses.length > 0 ? t.witnesses(status.witnesses, status.witness_quorum) : t.noWitnesses}</p>
      <p>{t.lotteryPlan(status.lottery.beacon_round, status.lottery.beacon_network, status.lottery.contributor_names)}</p>
      <p>{t.boardSize(status.size)}</p>
      <p>{t.liveCounts}</p>
      <div class="scroll" tabIndex={0} role="region" aria-label={t.tableOf(t.tabs.overview)}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t.constituency}</th>
              <th scope="col">{t.seats}</th>
              <th scope="col">{t.quotas}</th>
              <th scope="col">{t.candidates}</th>
              <th scope="col">{t.members}</th>
              <th scope="col">{t.enrolled}</th>
              <th scope="col">{t.credentials}</th>
              <th scope="col">{t.ballots}</th>
            </tr>
          </thead>
          <tbody>
            {status.constituencies.map((c) => (
              <tr key={c.id}>
                <th scope="row">{c.name}</th>
                <td>
                  {c.seats} ({c.lottery_seats} {t.lotterySeats})
                </td>
                <td>
                  {[...c.quotas.map((q) => t.quotaOf(q.category, q.min, q.max)), ...(c.parity === 'none' ? [] : [t.parityRule(c.parity)])].join(' · ') || t.noQuota}
                </td>
                <td>{c.candidates.length}</td>
                <td>{c.members}</td>
                <td>{c.enrolled}</td>
                <td>{c.issuances}</td>
                <td>{c.ballots}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** A horizontal bar chart of approvals (plain SVG), described by the table beside it. */
function Chart({ c, t, sorted }: { c: ConstituencyResult; t: SiteWords; sorted: { candidate: string; category: string; votes: number }[] }) {
  const max = Math.max(1, ...sorted.map((k) => k.votes));
  const elected = new Set((c.elected ?? []).map((e) => e.id));
  const row = 22;
  const height = sorted.length * row + 4;
  return (
    <svg class="chart" role="img" aria-label={t.chartLabel(c.name)} viewBox={`0 0 600 ${height}`} width="100%" height={height} preserveAspectRatio="xMinYMin meet">
      {sorted.map((k, i) => {
        const w = Math.max(1, Math.round((k.votes / max) * 360));
        const y = i * row + 2;
        return (
          <g key={k.candidate}>
            <text x="0" y={y + 15} class="chart-label">
              {k.candidate.length > 24 ? k.candidate.slice(0, 23) + '…' : k.candidate}
            </text>
            <rect x="190" y={y + 3} width={w} height={row - 6} class={elected.has(k.candidate) ? 'bar elected' : 'bar'} />
            <text x={196 + w} y={y + 15} class="chart-value">
              {k.votes}
              {elected.has(k.candidate) ? ' ★' : ''}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function Results({ report, t }: { report: Report; t: SiteWords }) {
  const assembly = report.constituencies.flatMap((c) => [
    ...(c.elected ?? []).map((e) => ({ c: c.name, id: e.id, category: e.category, how: 'vote', n: e.rank, votes: e.votes as number | null })),
    ...(c.drawn ?? []).map((d) => ({ c: c.name, id: d.id, category: d.category, how: 'lot', n: d.order, votes: null })),
  ]);
  const csv =
    'constituency,member,category,how,rank_or_order,approvals\n' +
    assembly.map((a) => [a.c, a.id, a.category, a.how, a.n, a.votes ?? ''].map((v) => `"${String(v).replace(/"/g, '""')}"`).join(',')).join('\n') +
    '\n';
  return (
    <>
      {report.constituencies.map((c) => (
        <ConstituencyView key={c.id} c={c} t={t} />
      ))}
      <h3>{t.assembly}</h3>
      <div class="scroll" tabIndex={0} role="region" aria-label={t.tableOf(t.assembly)}>
        <table data-testid="assembly">
          <thead>
            <tr>
              <th scope="col">{t.constituency}</th>
              <th scope="col">{t.member}</th>
              <th scope="col">{t.category}</th>
              <th scope="col">{t.how}</th>
            </tr>
          </thead>
          <tbody>
            {assembly.map((a) => (
              <tr key={a.c + a.id}>
                <td>{a.c}</td>
                <th scope="row">{a.id}</th>
                <td>{a.category}</td>
                <td>{a.how === 'vote' ? `${t.byVote} (${a.n})` : `${t.byLot} (${a.n})`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="row">
        <button type="button" onClick={() => download('assembly.csv', csv, 'text/csv')}>
          {t.downloadCsv}
        </button>
        <button type="button" onClick={() => download('report.json', JSON.stringify(report, null, 2), 'application/json')}>
          {t.downloadJson}
        </button>
      </p>
    </>
  );
}

function ConstituencyView({ c, t }: { c: ConstituencyResult; t: SiteWords }) {
  if (!c.tally) {
    return (
      <section class="constituency" aria-label={c.name}>
        <h3>{c.name}</h3>
        <p>{t.notYet}</p>
      </section>
    );
  }
  // The protocol's ranking: votes, then the tie hash order the verifier reports.
  const tiePlace = new Map<string, number>();
  for (const g of c.ties ?? []) g.candidates.forEach((m, i) => tiePlace.set(m.id, i));
  const sorted = [...c.tally].sort(
    (a, b) => b.votes - a.votes || (tiePlace.get(a.candidate) ?? 0) - (tiePlace.get(b.candidate) ?? 0) || (a.candidate < b.candidate ? -1 : 1),
  );
  const rank = new Map((c.elected ?? []).map((e) => [e.id, e.rank]));
  const held = new Map<string, number>();
  for (const m of [...(c.elected ?? []), ...(c.drawn ?? [])]) held.set(m.category, (held.get(m.category) ?? 0) + 1);
  return (
    <section class="constituency" aria-label={c.name} data-testid={`constituency-${c.id}`}>
      <h3>{c.name}</h3>
      <p>
        {t.seats}: {c.seats} ({c.lottery_seats} {t.lotterySeats}) · {t.ballots}: {c.ballots_counted}
      </p>
      <div class="result">
        <Chart c={c} t={t} sorted={sorted} />
        <div class="scroll" tabIndex={0} role="region" aria-label={t.tableOf(t.chartLabel(c.name))}>
          <table data-testid={`tally-${c.id}`}>
            <caption>{t.chartLabel(c.name)}</caption>
            <thead>
              <tr>
                <th scope="col">{t.candidate}</th>
                <th scope="col">{t.category}</th>
                <th scope="col">{t.approvals}</th>
                <th scope="col">{t.outcome}</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((k) => (
                <tr key={k.candidate}>
                  <th scope="row">{k.candidate}</th>
                  <td>{k.category}</td>
                  <td>{k.votes}</td>
                  <td>{rank.has(k.candidate) ? t.electedRank(rank.get(k.candidate)!) : t.notElected}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <h4>{t.parityTitle}</h4>
      <p>{t.parityRule(c.parity)}</p>
      {c.elected && (
        <p data-testid={`held-${c.id}`}>
          {t.quotaRow}:{' '}
          {[...held.entries()]
            .sort()
            .map(([k, n]) => `${k} ${n}`)
            .join(' · ')}
        </p>
      )}
      {c.quotas.length > 0 && (
        <table data-testid={`parity-${c.id}`}>
          <thead>
            <tr>
              <th scope="col">{t.category}</th>
              <th scope="col">{t.heldCol}</th>
              <th scope="col">{t.ruleCol}</th>
              <th scope="col">{t.metCol}</th>
            </tr>
          </thead>
          <tbody>
            {c.quotas.map((q) => {
              const h = held.get(q.category) ?? 0;
              return (
                <tr key={q.category}>
                  <th scope="row">{q.category}</th>
                  <td>{h}</td>
                  <td>{t.quotaRange(q.min, q.max)}</td>
                  <td>{c.elected ? (h >= q.min && h <= q.max ? t.quotaMet : t.quotaMissed) : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {c.drawn && c.drawn.length > 0 && (
        <>
          <h4>{t.drawnTitle}</h4>
          <ol>
            {c.drawn.map((d) => (
              <li key={d.id}>
                {d.id} ({d.category})
              </li>
            ))}
          </ol>
        </>
      )}
      {c.ties && (
        <>
          <h4>{t.tiesTitle}</h4>
          {c.ties.length === 0 ? (
            <p data-testid={`ties-${c.id}`}>{t.noTie}</p>
          ) : (
            <>
              <p>{t.tiesIntro}</p>
              <ul data-testid={`ties-${c.id}`}>
                {c.ties.map((g) => (
                  <li key={g.votes} data-decisive={String(g.decisive)}>
                    {t.tie(
                      g.votes,
                      g.candidates.map((m) => `${m.id} (${m.tie_hash.slice(0, 8)}…)`),
                    )}{' '}
                    {g.decisive ? <strong>{t.tieDecided}</strong> : t.tieNotDecided}
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
      {c.replacements && c.replacements.length > 0 && (
        <>
          <h4>{t.replacementsTitle}</h4>
          <p>{t.replacementsIntro}</p>
          <ol data-testid={`replacements-${c.id}`}>
            {c.replacements.map((d) => (
              <li key={d.id}>
                {d.id} ({d.category})
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

/** A long hex value, shortened on the page; the whole value is in the downloadable report. */
function Hex({ value }: { value: string | null }) {
  return value ? <code title={value}>{value.slice(0, 16)}…</code> : <>—</>;
}

/** Every draw of one constituency, as the verifier recomputed it. */
function DrawSteps({ c, steps, t }: { c: ConstituencyResult; steps: DrawStep[]; t: SiteWords }) {
  return (
    <section aria-label={c.name}>
      <h4>{t.stepsTitle(c.name)}</h4>
      <div class="scroll" tabIndex={0} role="region" aria-label={t.tableOf(t.stepsTitle(c.name))}>
        <table data-testid={`steps-${c.id}`}>
          <thead>
            <tr>
              <th scope="col">{t.drawOrder}</th>
              <th scope="col">{t.stageCol}</th>
              <th scope="col">{t.eligibleCol}</th>
              <th scope="col">{t.numberCol}</th>
              <th scope="col">{t.member}</th>
              <th scope="col">{t.category}</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((d) => (
              <tr key={d.order}>
                <td>{d.order}</td>
                <td>{t.stage(d.stage, d.minimum_of)}</td>
                <td>{d.eligible}</td>
                <td>{d.index}</td>
                <th scope="row">{d.id}</th>
                <td>{d.category}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function LotteryView({ report, status, t }: { report: Report; status: Status | null; t: SiteWords }) {
  const l = report.lottery;
  const check = report.checks.find((c) => c.name === 'lottery');
  const seats = report.checks.find((c) => c.name === 'seats');
  if (!l) return null;
  return (
    <>
      {l.beacon_round !== null && (
        <p>
          {t.beacon(l.beacon_round, l.beacon_network ?? '')} {l.beacon_verified ? t.beaconVerified : t.beaconNotYet}
          {!l.beacon_is_quicknet && <strong> {t.notQuicknet}</strong>}
        </p>
      )}
      {l.rfc3797_sources.length > 0 && (
        <>
          <p>{t.rfc3797}</p>
          <ul>
            {l.rfc3797_sources.map((s) => (
              <li key={s.name}>
                {s.name} ({s.draw_date}): {s.values ? s.values.join(', ') : t.beaconNotYet}
              </li>
            ))}
          </ul>
        </>
      )}
      {status && <p>{t.contributors(status.lottery.contributors, status.lottery.commits.length, status.lottery.reveals.length)}</p>}
      {l.contributions.length > 0 && (
        <>
          <h3>{t.seedTitle}</h3>
          <p>{t.contributionsIntro}</p>
          <div class="scroll" tabIndex={0} role="region" aria-label={t.tableOf(t.seedTitle)}>
            <table data-testid="contributors">
              <thead>
                <tr>
                  <th scope="col">{t.contributor}</th>
                  <th scope="col">{t.commitment}</th>
                  <th scope="col">{t.secret}</th>
                </tr>
              </thead>
              <tbody>
                {l.contributions.map((c) => (
                  <tr key={c.index}>
                    <th scope="row">
                      {c.index}. {c.name}
                    </th>
                    <td>{c.commitment ? <Hex value={c.commitment} /> : t.no}</td>
                    <td>{c.secret ? <Hex value={c.secret} /> : (l.withheld ?? []).includes(c.index) ? t.withheldShort : t.no}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {l.beacon_randomness && (
        <p>
          {t.beaconRandomness}: <Hex value={l.beacon_randomness} />
        </p>
      )}
      {l.seed && (
        <p data-testid="seed">
          {t.seedValue}: <Hex value={l.seed} />
        </p>
      )}
      <p data-testid="withheld">{l.withheld ? t.withheld(l.withheld) : t.revealsOpen}</p>
      {l.reveals_closed_at !== null && l.beacon_round_time !== null && <p>{t.revealsClosedBefore(Math.max(0, l.beacon_round_time - l.reveals_closed_at))}</p>}
      {check && (
        <p>
          {t.lotteryCheck} <strong>{check.status}</strong> — {check.detail}
        </p>
      )}
      {seats && (
        <p>
          {seats.name}: <strong>{seats.status}</strong> — {seats.detail}
        </p>
      )}
      {report.constituencies.some((c) => c.draw_steps) && <p>{t.stepsIntro}</p>}
      {report.constituencies.map((c) => c.draw_steps && c.draw_steps.length > 0 && <DrawSteps key={c.id} c={c} steps={c.draw_steps} t={t} />)}
    </>
  );
}

interface EntryView {
  index: number;
  kind: string;
  size: number;
  leaf_hash: string;
  signer: string;
  content: string | null;
}

function Board({
  id,
  size,
  t,
  receipts,
  setReceipts,
  report,
}: {
  id: string;
  size: number;
  t: SiteWords;
  receipts: { index: number; checkpoint: string }[];
  setReceipts: (r: { index: number; checkpoint: string }[]) => void;
  report: Report | null;
}) {
  const [from, setFrom] = useState(Math.max(0, size - 20));
  const [to, setTo] = useState(size);
  const [rows, setRows] = useState<EntryView[] | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [receipt, setReceipt] = useState('');
  const [answer, setAnswer] = useState<{ ok: boolean; text: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function show() {
    setError(null);
    try {
      const out: EntryView[] = [];
      for (let next = from; next < Math.min(to, from + 200); ) {
        const page = await getJson<{ entries: string[] }>(`${api(id)}/entries?start=${next}&end=${Math.min(to, from + 200)}`);
        if (page.entries.length === 0) break;
        for (const e of page.entries) out.push(JSON.parse(describe_entry(BigInt(next++), fromBase64(e))));
      }
      setRows(out);
      setNote(await getText(`${api(id)}/checkpoint`));
    } catch (e) {
      setError(String(e));
    }
  }
  useEffect(() => {
    show();
  }, []);

  async function checkReceipt() {
    try {
      const vkey = await getText(`${api(id)}/board-key`);
      const r = JSON.parse(check_receipt(receipt, vkey));
      setReceipts([...receipts.filter((x) => x.checkpoint !== r.checkpoint), { index: r.index, checkpoint: r.checkpoint }]);
      setAnswer({ ok: true, text: t.receiptOk(r.index, r.size) });
    } catch (e) {
      setAnswer({ ok: false, text: t.receiptBad(errorMessage(e)) });
    }
  }
  const inBoard = report?.checks.find((c) => c.name === 'checkpoints')?.status === 'pass' && receipts.length > 0;

  return (
    <section aria-labelledby="board-h">
      <h2 id="board-h">{t.tabs.board}</h2>
      <p>{t.boardIntro}</p>
      <div class="row range">
        <label>
          {t.from} <input type="number" min={0} max={size} value={from} onInput={(e) => setFrom(Number((e.target as HTMLInputElement).value))} />
        </label>
        <label>
          {t.to} <input type="number" min={0} max={size} value={to} onInput={(e) => setTo(Number((e.target as HTMLInputElement).value))} />
        </label>
        <button type="button" onClick={show}>
          {t.show}
        </button>
      </div>
      {error && <p class="error" role="alert">{t.error(error)}</p>}
      {rows && (
        <div class="scroll" tabIndex={0} role="region" aria-label={t.tableOf(t.tabs.board)}>
          <table data-testid="entries">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">{t.kind}</th>
                <th scope="col">{t.size}</th>
                <th scope="col">{t.fingerprint}</th>
                <th scope="col">{t.content}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.index}>
                  <td>{r.index}</td>
                  <td>{r.kind}</td>
                  <td>{r.size}</td>
                  <td class="hash">{r.leaf_hash.slice(0, 16)}</td>
                  <td class="content">{r.content === null ? t.encryptedBallot : r.content.length > 160 ? r.content.slice(0, 160) + ' …' : r.content}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {note && (
        <>
          <h3>{t.checkpointTitle}</h3>
          <pre class="checkpoint" data-testid="checkpoint">{note}</pre>
        </>
      )}
      <h3>{t.receiptTitle}</h3>
      <p>{t.receiptIntro}</p>
      <label>
        {t.receiptLabel}
        <textarea rows={4} value={receipt} onInput={(e) => setReceipt((e.target as HTMLTextAreaElement).value)} data-testid="receipt" />
      </label>
      <label>
        {t.receiptFile}
        <input
          type="file"
          onChange={async (e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) setReceipt(await f.text());
          }}
        />
      </label>
      <button type="button" onClick={checkReceipt}>
        {t.checkReceipt}
      </button>
      {answer && (
        <p class={answer.ok ? 'note' : 'error'} role="status" data-testid="receipt-answer">
          {answer.text}
        </p>
      )}
      {inBoard && (
        <p class="note" data-testid="receipt-in-board">
          {t.receiptInBoard(receipts[receipts.length - 1].index)}
        </p>
      )}
    </section>
  );
}

function Checks({ report, t }: { report: Report; t: SiteWords }) {
  return (
    <>
      <div class="scroll" tabIndex={0} role="region" aria-label={t.tableOf(t.tabs.verify)}>
        <table data-testid="checks">
          <thead>
            <tr>
              <th scope="col">{t.check}</th>
              <th scope="col">{t.status}</th>
              <th scope="col">{t.detail}</th>
            </tr>
          </thead>
          <tbody>
            {report.checks.map((c) => (
              <tr key={c.name} data-check={c.name} data-status={c.status}>
                <th scope="row">{c.name}</th>
                <td>{c.status}</td>
                <td>{c.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {report.failures.length > 0 && (
        <>
          <h3>{t.failures}</h3>
          <ul data-testid="failures">
            {report.failures.map((f, i) => (
              <li key={i}>
                {f.check}: {f.entry !== null ? `${t.entry} ${f.entry}${f.kind ? ` (${f.kind})` : ''}: ` : ''}[{f.code}] {f.message}
              </li>
            ))}
          </ul>
        </>
      )}
      <details>
        <summary>{t.cliText}</summary>
        <pre data-testid="cli-text">{report_text(JSON.stringify(report))}</pre>
      </details>
    </>
  );
}

render(<App />, document.getElementById('app')!);

/** The cast-as-intended check of a ballot check file, against the verified board. */
function AuditCheck({ id, report, t }: { id: string; report: Report; t: SiteWords }) {
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  async function check(file: File) {
    setResult(null);
    try {
      const manifest = new Uint8Array(await getBytes(`${api(id)}/entries/0`));
      const shown = JSON.parse(check_ballot_audit(await file.text(), manifest, report.election ?? '', report.election_key ?? ''));
      setResult({ ok: true, text: t.auditOk(shown.approved, shown.candidates, shown.constituency) });
    } catch (e) {
      setResult({ ok: false, text: t.auditBad(errorMessage(e)) });
    }
  }
  return (
    <section aria-labelledby="audit-h">
      <h3 id="audit-h">{t.auditTitle}</h3>
      <p>{t.auditIntro}</p>
      <label>
        {t.auditFile}
        <input
          type="file"
          data-testid="audit-file"
          onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) check(f);
          }}
        />
      </label>
      {result && (
        <p class={result.ok ? 'note' : 'error'} role="status" data-testid="audit-result" data-ok={String(result.ok)}>
          {result.text}
        </p>
      )}
    </section>
  );
}
