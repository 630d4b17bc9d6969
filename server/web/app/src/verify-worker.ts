// One Web Worker of the in-browser verification: verifies the export (or
// the files of a tile base) under one share of the ballots' cryptography
// (urne-verify's library compiled to WebAssembly) and posts its report; the
// page joins the shares' reports.
import init, { verify_export, verify_tiles } from '../pkg-verify/urne_verify_wasm.js';
import type { Board } from './verify';

interface Job {
  board: Board;
  share: number;
  of: number;
  checkpoints: string[];
}

const scope = self as unknown as {
  urneProgress: (done: number, total: number) => void;
  postMessage: (m: unknown) => void;
  onmessage: ((e: MessageEvent<Job>) => void) | null;
};

scope.urneProgress = (done, total) => scope.postMessage({ progress: done, total });

scope.onmessage = async (e) => {
  try {
    await init();
    const job = e.data;
    const given = JSON.stringify(job.checkpoints);
    const b = job.board;
    const report =
      b.kind === 'export'
        ? verify_export(new Uint8Array(b.bytes), job.share, job.of, given, true)
        : verify_tiles(JSON.stringify(b.paths), new Uint8Array(b.blob), new Uint32Array(b.ends), job.share, job.of, given, true);
    scope.postMessage({ report });
  } catch (err) {
    scope.postMessage({ error: String(err) });
  }
};
