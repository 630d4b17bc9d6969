// The voter's wallet in IndexedDB: one record per election and member. It
// holds the recovery secret (keys are derived from it when needed), the
// pending credential session and the receipts; it is saved before each
// request is sent, so a reload resumes where the voter was.

/** A checked receipt, as urne-client's `Receipt`. */
export interface Receipt {
  index: number;
  size: number;
  root: string;
  leaf: string;
  checkpoint: string;
  inclusion: string[];
}

/** What the page keeps for one member of one election. */
export interface Wallet {
  id: string;
  election: string;
  pseudonym: string;
  token?: string;
  secret: string;
  boardKey: string;
  enrolment?: Receipt;
  /** Rebuilt from the recovery code: enrolled from another device. */
  restored?: boolean;
  /** Board index of a ballot cast from another device, found on restore. */
  earlierBallot?: number;
  /** Whether the credential found on restore was issued after the vote opened. */
  issuedWhileOpen?: boolean;
  recoveryKept?: boolean;
  commitment?: string;
  credential?: string;
  credentialReceipt?: Receipt;
  credentialTime?: { at: number; while_open: boolean };
  draft?: string[];
  reviewing?: boolean;
  revoting?: boolean;
  ballots: Receipt[];
}

const DB = 'urne';
const STORE = 'wallets';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore(STORE, { keyPath: 'id' });
      req.result.createObjectStore('meta');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function run<T>(store: string, mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(store, mode);
        const req = f(tx.objectStore(store));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      }),
  );
}

/** Saves the wallet (and makes it the current one); resolves once written. */
export async function save(w: Wallet): Promise<void> {
  await run(STORE, 'readwrite', (s) => s.put(w));
  await run('meta', 'readwrite', (s) => s.put(w.id, 'current'));
}

/** The wallet with this id, if any. */
export function load(id: string): Promise<Wallet | undefined> {
  return run(STORE, 'readonly', (s) => s.get(id) as IDBRequest<Wallet | undefined>);
}

/** The wallet last used in this browser, if any. */
export async function current(): Promise<Wallet | undefined> {
  const id = (await run('meta', 'readonly', (s) => s.get('current'))) as string | undefined;
  return id ? load(id) : undefined;
}
