import { Socket } from 'node:net';
import type { FastCGIServer } from '../fastcgi/server';
import { appVersion, traceProcessExit, traceProcessStart } from '../trace/install';
import { originalStderrWrite } from '../trace/stdio';
import { createAppServer, describeLoadError, traceError } from './app-server';
import { processControl } from './control';
import { type FromWorker, isToWorker, WORKER_ENV } from './messages';
import { mtimeOf, RestartFile } from './restart-file';

/** WorkerInput: what dispatch() hands over. */
export interface WorkerInput {
  options: import('./dispatch').DispatchOptions;
  base: string;
  appName: string;
  scriptPath: string | undefined;
}

/** STATS_MS: how often a worker may report its counters to the owner. */
const STATS_MS = 1000;

/**
 * WorkerProcess: the worker side of a graceful reload. It loads the app, says `ready`, and serves
 * the connections its owner hands over; on `drain` (it was replaced), on SIGTERM/SIGINT, or when
 * the owner is gone, it finishes its in-flight requests and exits 0. SIGHUP and SIGUSR1 are the
 * owner's to act on (a terminal hang-up reaches the whole process group), so they are ignored here.
 */
class WorkerProcess {
  readonly #input: WorkerInput;
  readonly #control: ReturnType<typeof processControl>;
  readonly #restart: RestartFile | null;
  #server: FastCGIServer | null = null;
  #draining = false;
  #recycleAsked = 0;
  #lastStats = '';

  constructor(input: WorkerInput) {
    this.#input = input;
    const env = process.env;
    this.#control = processControl(input.options, input.base);
    const file = this.#control.restartFile;
    this.#restart = file ? new RestartFile(file, Number(env[WORKER_ENV.restartMtime] ?? mtimeOf(file))) : null;
  }

  #send(message: FromWorker): void {
    if (process.connected) process.send!(message, undefined, {}, () => {});
  }

  #sendStats(): void {
    const requests = this.#server?.requestsStarted ?? 0;
    const inFlight = this.#server?.inFlight ?? 0;
    const key = `${requests}/${inFlight}`;
    if (key === this.#lastStats) return;
    this.#lastStats = key;
    this.#send({ dualcgi: 'stats', requests, inFlight });
  }

  #drain(drainMs: number, why: string): void {
    if (this.#draining) return;
    this.#draining = true;
    const finished = this.#server ? this.#server.drain(drainMs) : Promise.resolve();
    finished.then(() => {
      this.#sendStats();
      return traceProcessExit('fcgi', `worker drained (${why})`, 0);
    }).finally(() => process.exit(0));
  }

  #giveBack(socket: Socket, done: () => void): void {
    if (!process.connected) {
      done();
      return;
    }
    const message: FromWorker = { dualcgi: 'conn-back' };
    process.send!(message, socket, {}, () => done());
  }

  /** listen: IPC and signals first, so a drain that comes while the app loads is not lost. */
  listen(): void {
    const drainMs = this.#control.drainMs;
    process.on('message', (message: unknown, handle: unknown) => {
      if (!isToWorker(message)) return;
      if (message.dualcgi === 'drain') {
        // Replaced: kept-alive connections go back to the owner for the new generation instead
        // of being closed under the web server (FastCGIServer.handBack).
        if (this.#server && message.handBack) this.#server.handBack = (socket, done) => this.#giveBack(socket, done);
        this.#drain(message.drainMs, 'replaced');
      }
      else if (handle instanceof Socket) {
        if (this.#server) this.#server.adopt(handle);
        else handle.destroy();
      }
    });
    process.on('disconnect', () => this.#drain(drainMs, 'owner gone'));
    process.on('SIGTERM', () => this.#drain(drainMs, 'SIGTERM'));
    process.on('SIGINT', () => this.#drain(drainMs, 'SIGINT'));
    process.on('SIGHUP', () => {});
    process.on('SIGUSR1', () => {});
  }

  /** #beforeRequest: the restart file and --max-requests are noticed here and reported to the owner. */
  #beforeRequest(): void {
    const mtime = this.#restart?.check();
    if (mtime !== undefined && mtime !== null) this.#send({ dualcgi: 'reload', reason: 'restart file touched', mtime });
    const served = this.#server?.requestsStarted ?? 0;
    const max = this.#control.maxRequests;
    // Asked again every second while over the limit: the owner may not have managed to replace us.
    if (max > 0 && served >= max && Date.now() - this.#recycleAsked > STATS_MS) {
      this.#recycleAsked = Date.now();
      this.#send({ dualcgi: 'recycle', reason: `${served} requests (--max-requests ${max})` });
    }
  }

  async start(): Promise<FastCGIServer> {
    const { options, base } = this.#input;
    try {
      this.#server = await createAppServer(options, base, { beforeRequest: () => this.#beforeRequest() });
    } catch (err) {
      const e = err as Error & { code?: unknown };
      originalStderrWrite(describeLoadError(e));
      traceError(e, 'load');
      this.#send({ dualcgi: 'failed', message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}) });
      await traceProcessExit('fcgi', `app failed to load: ${e.message}`, 1);
      process.exit(1);
    }
    const version = typeof options.app === 'string' ? appVersion(this.#input.appName) : undefined;
    this.#send({ dualcgi: 'ready', ...(version !== undefined ? { version } : {}) });
    setInterval(() => this.#sendStats(), STATS_MS).unref();
    return this.#server;
  }
}

/** runWorker: serve as a worker of the owner that forked this process (launch/supervisor). */
export async function runWorker(input: WorkerInput): Promise<FastCGIServer> {
  const generation = Number(process.env[WORKER_ENV.generation] ?? '1');
  const worker = new WorkerProcess(input);
  // Not inherited by whatever the app spawns.
  for (const name of Object.values(WORKER_ENV)) delete process.env[name];
  traceProcessStart('fcgi', `worker (generation ${generation}) of ${process.ppid}`, input.appName, input.scriptPath);
  worker.listen();
  return worker.start();
}
