// HTTP calls to the urne service that served this page (same origin).

/** A refusal or failure, with the server's stable code when it gave one. */
export class ApiError extends Error {
  constructor(
    public code: string,
    message: string,
    /** The HTTP status of a refusal (0 when there was no answer). */
    public status = 0,
  ) {
    super(message);
  }
}

async function call(path: string, init?: RequestInit): Promise<Response> {
  let resp: Response;
  try {
    resp = await fetch(path, { cache: 'no-store', ...init });
  } catch (e) {
    throw new ApiError('unreachable', String(e));
  }
  if (!resp.ok) {
    let code = 'http_' + resp.status;
    let message = resp.statusText;
    try {
      const j = await resp.json();
      code = j.error ?? code;
      message = j.message ?? message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(code, message, resp.status);
  }
  return resp;
}

/** GET, as text. */
export async function getText(path: string): Promise<string> {
  return (await call(path)).text();
}

/** GET, as bytes (a refusal is an ApiError, never bytes to decode). */
export async function getBytes(path: string): Promise<ArrayBuffer> {
  return (await call(path)).arrayBuffer();
}

/** GET a tile, as bytes: the browser's cache may answer (full tiles never change). */
export async function getTile(path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await call(path, { cache: 'default' })).arrayBuffer());
}

/**
 * GET a file of a tile base (§6.10) as `getTile` does, or `null` when the
 * base does not have it: 404, or 422 for a bundle holding an entry too long
 * for one.
 */
export async function findTile(path: string): Promise<Uint8Array | null> {
  try {
    return await getTile(path);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 422)) return null;
    throw e;
  }
}

/** GET, as JSON. */
export async function getJson<T>(path: string): Promise<T> {
  return (await call(path)).json();
}

/** POST a JSON body; the answer as text (JSON). */
export async function postJson(path: string, body: unknown): Promise<string> {
  return (await call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).text();
}

/** POST a canonical CBOR entry; the answer as text (JSON). */
export async function postCbor(path: string, entry: Uint8Array): Promise<string> {
  return (await call(path, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: entry as BodyInit })).text();
}

/** Standard base64 to bytes. */
export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Bytes to lowercase hex. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The client digest of the web client this service serves (§3.10):
 * SHA-256 of its listing, hex; null where the browser cannot hash. */
export async function servedClientDigest(): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  const listing = await (await call('/client.sha256sums')).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', listing));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
