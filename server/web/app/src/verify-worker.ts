// One Web Worker of the in-browser verification: verifies the export under
// one share of the ballots' cryptography (urne-verify's library compiled to
// WebAssembly) and posts its report; the page joins the shares' reports.
import init, { verify_export } from '../pkg-verify/urne_verify_wasm.js';

interface Job {
  bytes: ArrayBuffer;
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
    const report = verify_export(new Uint8Array(job.bytes), job.share, job.of, JSON.stringify(job.checkpoints), true);
    scope.postMessage({ report });
  } catch (err) {
    scope.postMessage({ error: String(err) });
  }
};
