/**
 * The IPC messages between the process that owns the listening socket (launch/supervisor) and its
 * workers (launch/worker). Each carries `dualcgi` as its kind, so messages of the app's own (a
 * worker may use process.send) are told apart.
 */

/** ToWorker: from the owner. `conn` comes with a connected socket as the message's handle. */
export type ToWorker =
  | { dualcgi: 'conn' }
  /** drain: replaced (handBack: give kept-alive connections back) or stopping (close them). */
  | { dualcgi: 'drain'; drainMs: number; handBack: boolean };

/** FromWorker: from a worker. */
export type FromWorker =
  /** ready: the app loaded; the worker can take connections. */
  | { dualcgi: 'ready'; version?: string }
  /** failed: the app did not load; the worker exits. */
  | { dualcgi: 'failed'; code?: string; message: string }
  /** stats: sent when changed, at most once a second, for `dualcgi ps`. */
  | { dualcgi: 'stats'; requests: number; inFlight: number }
  /** reload: the worker saw the restart file touched (mtime), reload everything. */
  | { dualcgi: 'reload'; reason: string; mtime?: number }
  /** recycle: --max-requests reached; replace this worker. */
  | { dualcgi: 'recycle'; reason: string }
  /**
   * conn-back: a kept-alive connection, at a request boundary with nothing unread, given back by
   * a draining worker (the socket is the message's handle) for the new generation to serve.
   */
  | { dualcgi: 'conn-back' };

const TO_WORKER = new Set(['conn', 'drain']);
const FROM_WORKER = new Set(['ready', 'failed', 'stats', 'reload', 'recycle', 'conn-back']);

function kindOf(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const kind = (message as { dualcgi?: unknown }).dualcgi;
  return typeof kind === 'string' ? kind : undefined;
}

/** isToWorker: a message of ours, sent by the owner. */
export function isToWorker(message: unknown): message is ToWorker {
  return TO_WORKER.has(kindOf(message) ?? '');
}

/** isFromWorker: a message of ours, sent by a worker. */
export function isFromWorker(message: unknown): message is FromWorker {
  return FROM_WORKER.has(kindOf(message) ?? '');
}

/** Environment variables the owner sets for its workers. */
export const WORKER_ENV = {
  /** worker: "1" marks a dualcgi worker (with cluster's own NODE_UNIQUE_ID). */
  worker: 'DUALCGI_WORKER',
  generation: 'DUALCGI_GENERATION',
  /** restartMtime: the restart file mtime the owner has acted on, so the worker does not re-report it. */
  restartMtime: 'DUALCGI_RESTART_MTIME',
} as const;

/** isWorkerProcess: this process was forked by a dualcgi owner (node:cluster) to serve. */
export function isWorkerProcess(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[WORKER_ENV.worker] === '1' && typeof process.send === 'function';
}
