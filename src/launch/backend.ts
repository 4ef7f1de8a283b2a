import type cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { Socket } from 'node:net';
import type { FastCGIServer, HandBack } from '../fastcgi/server';
import { type FromWorker, isFromWorker, type ToWorker, WORKER_ENV } from './messages';

/** BackendState: a backend takes connections only while ready. */
export type BackendState = 'starting' | 'ready' | 'draining' | 'gone';

/**
 * Backend: one place connections can be served, as seen by the process that owns the listening
 * socket: the app it loaded itself (LocalBackend, the first generation when there is one slot) or
 * a worker process (WorkerBackend).
 */
export interface Backend {
  readonly kind: 'local' | 'worker';
  readonly pid: number;
  readonly generation: number;
  readonly loadedAt: string;
  readonly version: string | undefined;
  readonly state: BackendState;
  readonly requests: number;
  readonly inFlight: number;
  /** recycling: a replacement was asked for (max requests). */
  recycling: boolean;
  /** take: hand a connected socket over (`sent` once it has left); false means "serve it in this process". */
  take(socket: Socket, sent?: () => void): boolean;
  /**
   * retire: stop taking connections, finish in-flight requests, then go (resolves when gone).
   * `handBack`: kept-alive connections go to the backends serving now instead of being closed.
   */
  retire(drainMs: number, handBack: boolean): Promise<void>;
}

/** LocalBackend: the owner serving with the app it loaded at start, on its own listening server. */
export class LocalBackend implements Backend {
  readonly kind = 'local' as const;
  readonly pid = process.pid;
  readonly generation = 1;
  readonly loadedAt = new Date().toISOString();
  readonly version: string | undefined;
  recycling = false;
  #front: FastCGIServer;
  #handBack: HandBack;
  #state: BackendState = 'ready';
  #retired: Promise<void> | null = null;

  /** handBack: where this process's kept-alive connections go when it stops serving them itself. */
  constructor(front: FastCGIServer, version: string | undefined, handBack: HandBack) {
    this.#front = front;
    this.version = version;
    this.#handBack = handBack;
  }

  get state(): BackendState {
    return this.#state;
  }

  get requests(): number {
    return this.#front.requestsStarted;
  }

  get inFlight(): number {
    return this.#front.inFlight;
  }

  take(): boolean {
    return false;
  }

  retire(drainMs: number, handBack: boolean): Promise<void> {
    if (this.#retired) return this.#retired;
    this.#state = 'draining';
    if (handBack) this.#front.handBack = this.#handBack;
    this.#retired = this.#front.drain(drainMs).then(() => {
      this.#state = 'gone';
    });
    return this.#retired;
  }
}

/** WorkerEvents: what the owner hears from a worker after it is ready. */
export interface WorkerEvents {
  message(backend: WorkerBackend, message: FromWorker, handle: unknown): void;
  exit(backend: WorkerBackend, code: number | null, signal: string | null): void;
}

/** READY_TIMEOUT_MS: a worker whose app has not loaded by then counts as failed. */
const READY_TIMEOUT_MS = 60_000;
/** KILL_GRACE_MS: after its drain time, a retired worker that is still there is killed. */
const KILL_GRACE_MS = 5_000;

/**
 * WorkerBackend: a worker process forked with node:cluster. It runs the same entry script with the
 * same arguments (so it loads the app exactly as the first process did, from the code now on disk)
 * and gets connections one by one over IPC, accepted by the owner: the listening socket never
 * leaves the owner, so it is never closed or unlinked while workers come and go.
 */
export class WorkerBackend implements Backend {
  readonly kind = 'worker' as const;
  readonly generation: number;
  readonly worker: Worker;
  /** ready: resolves when the app has loaded; rejects when it failed to (the worker is then gone). */
  readonly ready: Promise<void>;
  loadedAt = '';
  version: string | undefined;
  requests = 0;
  inFlight = 0;
  recycling = false;
  #state: BackendState = 'starting';
  #exited: Promise<void>;
  #retired: Promise<void> | null = null;

  constructor(primary: typeof cluster, generation: number, env: Record<string, string>, events: WorkerEvents) {
    this.generation = generation;
    this.worker = primary.fork({ ...env, [WORKER_ENV.worker]: '1', [WORKER_ENV.generation]: String(generation) });
    this.#exited = new Promise((done) => {
      this.worker.once('exit', (code, signal) => {
        const wasActive = this.#state !== 'gone';
        this.#state = 'gone';
        done();
        if (wasActive) events.exit(this, code, signal);
      });
    });
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`worker ${this.pid} did not load the app within ${READY_TIMEOUT_MS / 1000} s`));
        this.worker.process.kill('SIGKILL');
      }, READY_TIMEOUT_MS);
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new Error(why));
      };
      this.worker.once('exit', (code, signal) => fail(`worker ${this.pid} exited (${signal ?? `code ${code}`}) before its app loaded`));
      this.worker.on('message', (message: unknown, handle: unknown) => {
        if (!isFromWorker(message)) return;
        if (message.dualcgi === 'ready') {
          clearTimeout(timer);
          this.version = message.version;
          this.loadedAt = new Date().toISOString();
          if (this.#state === 'starting') this.#state = 'ready';
          resolve();
        } else if (message.dualcgi === 'failed') {
          fail(`${message.code ? `${message.code}: ` : ''}${message.message}`);
        } else if (message.dualcgi === 'stats') {
          this.requests = message.requests;
          this.inFlight = message.inFlight;
        } else {
          events.message(this, message, handle);
        }
      });
    });
    this.ready.catch(() => {}); // the owner awaits it; an unobserved rejection must not crash it
  }

  get pid(): number {
    return this.worker.process.pid ?? 0;
  }

  get state(): BackendState {
    return this.#state;
  }

  take(socket: Socket, sent?: () => void): boolean {
    if (this.#state !== 'ready' || !this.worker.isConnected()) return false;
    const message: ToWorker = { dualcgi: 'conn' };
    this.worker.send(message, socket, (err: Error | null) => {
      if (err) socket.destroy(); // the worker went away mid-hand-over: the web server sees a reset
      sent?.();
    });
    return true;
  }

  retire(drainMs: number, handBack: boolean): Promise<void> {
    if (this.#retired) return this.#retired;
    if (this.#state !== 'gone') this.#state = 'draining';
    const message: ToWorker = { dualcgi: 'drain', drainMs, handBack };
    if (this.worker.isConnected()) this.worker.send(message, undefined, () => {});
    const timer = setTimeout(() => this.worker.process.kill('SIGKILL'), drainMs + KILL_GRACE_MS);
    this.#retired = this.#exited.then(() => clearTimeout(timer));
    return this.#retired;
  }
}
