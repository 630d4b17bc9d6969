// The in-browser verification: one Web Worker per core, each verifying the
// whole export under one share of the ballots' cryptography; their reports
// are joined by urne-verify's own rule (merge_reports).
import { merge_reports, tile_files } from '../pkg-verify/urne_verify_wasm.js';
import { findTile, getText } from './api';

/** The verifier's report (urne-verify --json). */
export interface Report {
  valid: boolean;
  status: 'valid' | 'valid-so-far' | 'invalid';
  complete: boolean;
  election: string | null;
  title: string | null;
  client_digest: string | null;
  election_key: string | null;
  phase: string | null;
  entries: number;
  checkpoint: { size: number; root: string } | null;
  ballots_counted: number;
  ballot_entries: number;
  checks: { name: string; status: string; detail: string }[];
  failures: { check: string; entry: number | null; kind: string | null; code: string; message: string }[];
  constituencies: ConstituencyResult[];
  lottery: Lottery | null;
}

export interface ConstituencyResult {
  id: string;
  name: string;
  seats: number;
  lottery_seats: number;
  quotas: { category: string; min: number; max: number }[];
  parity: string;
  issuances: number;
  ballots_counted: number;
  tally: { candidate: string; category: string; votes: number }[] | null;
  trustees: number[] | null;
  elected: { id: string; category: string; votes: number; rank: number }[] | null;
  drawn: { id: string; category: string; order: number }[] | null;
  ties: { votes: number; decisive: boolean; candidates: { id: string; tie_hash: string }[] }[] | null;
  draw_steps: DrawStep[] | null;
  replacements: { id: string; category: string; order: number }[] | null;
}

/** One draw of the lottery: of `eligible` members in id order, number `index` (from 0). */
export interface DrawStep {
  order: number;
  stage: 'minimum' | 'open' | 'replacement';
  minimum_of: string | null;
  eligible: number;
  index: number;
  id: string;
  category: string;
}

export interface Lottery {
  method: string;
  beacon_network: string | null;
  beacon_is_quicknet: boolean;
  beacon_round: number | null;
  beacon_round_time: number | null;
  beacon_verified: boolean;
  reveals_closed_at: number | null;
  withheld: number[] | null;
  rfc3797_sources: { name: string; draw_date: string; values: number[] | null }[];
  contributions: { index: number; name: string; commitment: string | null; secret: string | null }[];
  beacon_randomness: string | null;
  seed: string | null;
}

/** What a verification reads: an export file, or the files of a tile base (§6.10). */
export type Board =
  | { kind: 'export'; bytes: ArrayBuffer }
  | { kind: 'tiles'; paths: string[]; blob: ArrayBuffer; ends: number[] };

/** How many workers: one per core the browser reports, at most 8. */
export function workerCount(): number {
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency || 2));
}

/**
 * Verifies `board` (an export file or a tile base's files) on `n` workers;
 * `onProgress` gets the fraction read by the slowest worker. `checkpoints`
 * are signed notes from outside the board (receipts), checked against its
 * tree.
 */
export async function verifyBoard(
  board: Board,
  n: number,
  checkpoints: string[],
  onProgress: (fraction: number) => void,
): Promise<Report> {
  const done = new Array(n).fill(0);
  const runs = Array.from({ length: n }, (_, share) =>
    new Promise<string>((resolve, reject) => {
      const worker = new Worker(new URL('./verify-worker.ts', import.meta.url), { type: 'module' });
      worker.onmessage = (e) => {
        const m = e.data;
        if (m.progress !== undefined) {
          done[share] = m.total > 0 ? m.progress / m.total : 0;
          onProgress(Math.min(...done));
        } else if (m.report !== undefined) {
          done[share] = 1;
          onProgress(Math.min(...done));
          worker.terminate();
          resolve(m.report);
        } else {
          worker.terminate();
          reject(new Error(m.error));
        }
      };
      worker.onerror = (e) => {
        worker.terminate();
        reject(new Error(e.message || 'the verification worker stopped'));
      };
      worker.postMessage({ board, share, of: n, checkpoints });
    }),
  );
  const reports = await Promise.all(runs);
  if (n === 1) return JSON.parse(reports[0]);
  return JSON.parse(merge_reports(`[${reports.join(',')}]`));
}

/**
 * Fetches the files of the tile base at `base` (a URL prefix this page may
 * read) that a verification reads: `board-key`, `checkpoint`, every entry
 * bundle and hash tile; a bundle the base lacks (404, or 422 for an entry
 * too long for one) is replaced by its entries' `entries/<index>` files.
 * A hash tile the base lacks is left out, for the verifier to report.
 */
export async function fetchTiles(base: string, onProgress: (fraction: number) => void): Promise<Board> {
  const text = await getText(`${base}/checkpoint`);
  const note = new TextEncoder().encode(text);
  const size = Number(text.split('\n')[1]);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`${base}/checkpoint is not a checkpoint`);
  const wanted: string[] = JSON.parse(tile_files(BigInt(size)));
  const bundles = Math.ceil(size / 256);
  const paths: string[] = [];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < wanted.length; i++) {
    const bytes = wanted[i] === 'checkpoint' ? note : await findTile(`${base}/${wanted[i]}`);
    const n = i - 2; // after board-key and checkpoint come the bundles
    if (bytes) {
      paths.push(wanted[i]);
      parts.push(bytes);
    } else if (n >= 0 && n < bundles) {
      for (let e = n * 256; e < Math.min(size, n * 256 + 256); e++) {
        const entry = await findTile(`${base}/entries/${e}`);
        if (entry) {
          paths.push(`entries/${e}`);
          parts.push(entry);
        }
      }
    }
    onProgress((i + 1) / wanted.length);
  }
  const ends: number[] = [];
  let total = 0;
  for (const p of parts) ends.push((total += p.length));
  const blob = new Uint8Array(total);
  parts.forEach((p, i) => blob.set(p, ends[i] - p.length));
  return { kind: 'tiles', paths, blob: blob.buffer, ends };
}
