import cluster from 'node:cluster';
import { Socket } from 'node:net';
import { encodeErrorResponse } from '../cgi/response-head';
import { FastCGIServer, type ListenTarget, stopReading } from '../fastcgi/server';
import { isTracing, publish } from '../trace/channel';
import { Level } from '../trace/events';
import { appVersion, traceProcessExit } from '../trace/install';
import { originalStderrWrite } from '../trace/stdio';
import { createAppServer, exitOnLoadError } from './app-server';
import { type Backend, LocalBackend, WorkerBackend } from './backend';
import type { ProcessControl } from './control';
import type { DispatchOptions } from './dispatch';
import type { FromWorker } from './messages';
import { WORKER_ENV } from './messages';
import { RestartFile } from './restart-file';
import { type LastReload, StatusFile } from './registry';
import { buildStatus } from './status';
import { type Watching, watchFolders } from './watch';

/** SupervisorInput: what dispatch() decided before serving FastCGI. */
export interface SupervisorInput {
  options: DispatchOptions;
  base: string;
  control: ProcessControl;
  target: ListenTarget;
  /** listenLabel: how `ps` shows the socket when the server cannot name it (fd 0). */
  listenLabel: string;
  appName: string;
  scriptPath: string | undefined;
}

/** MAX_HELD: sockets kept waiting while no backend is ready (a crash loop); beyond, new ones are reset. */
const MAX_HELD = 1024;
const STATUS_MS = 2000;
/** Respawn delays after a worker dies unexpectedly: doubling up to the last. */
const RESPAWN_MS = [100, 500, 1000, 2000, 5000, 10_000, 30_000];

/** log: one line for the web server's error log or the service journal. */
function log(line: string): void {
  originalStderrWrite(`dualcgi[${process.pid}]: ${line}\n`);
}

/** SupervisorErrorCode: what went wrong in the supervisor itself (an `error` event, phase "supervisor"). */
type SupervisorErrorCode = 'DUALCGI_ERR_RELOAD_FAILED' | 'DUALCGI_ERR_RECYCLE_FAILED' | 'DUALCGI_ERR_WORKER_EXIT' | 'DUALCGI_ERR_WORKER_START';

/**
 * problem: a failure the supervisor lives through: its line, and an `error` trace event, so that
 * the dashboard and tail show why a worker vanished or a reload did not take (a SIGKILLed worker
 * sends nothing itself).
 */
function problem(code: SupervisorErrorCode, line: string): void {
  log(line);
  if (isTracing()) publish({ ev: 'error', level: Level.error, mode: 'fcgi', phase: 'supervisor', code, msg: line });
}

/**
 * Supervisor: the process that owns the listening socket (fd 0 from the web server, or --bind)
 * and decides who serves each connection it accepts. With one slot it first serves the app it
 * loaded itself; a reload (SIGHUP, SIGUSR1, the restart file, --watch) or a recycle
 * (--max-requests) forks a worker with node:cluster, waits until the worker's app has loaded,
 * sends new connections there, and only then lets the previous one drain: no connection is ever
 * refused or dropped, and a new version that fails to load leaves the old one serving.
 */
export class Supervisor {
  readonly front: FastCGIServer;
  readonly #input: SupervisorInput;
  readonly #control: ProcessControl;
  #slots: Backend[] = [];
  #retired = new Set<Backend>();
  #held: Socket[] = [];
  #next = 0;
  #generation = 1;
  #reloading: Promise<void> | null = null;
  /** #inReload: for the status file; #reloading is only assigned after #runReload has begun. */
  #inReload = false;
  /**
   * #holding: a reload asked for by the restart file is under way: new connections wait for the
   * new code (Passenger's "restart at the next request") instead of reaching the old one.
   */
  #holding = false;
  #again: string | null = null;
  #stopping = false;
  #restart: RestartFile | null;
  #status: StatusFile | null = null;
  #watching: Watching | null = null;
  #retiredRequests = 0;
  #lastReload: LastReload | undefined;
  #respawns = 0;

  private constructor(input: SupervisorInput, front: FastCGIServer | null) {
    this.#input = input;
    this.#control = input.control;
    this.#restart = input.control.restartFile ? new RestartFile(input.control.restartFile) : null;
    this.front = front ?? new FastCGIServer({
      maxConns: input.options.maxConns,
      socketMode: input.options.socketMode,
      socketOwner: input.options.socketOwner,
      // Never reached: with workers only, the router takes every connection.
      onRequest: (request) => {
        request.write(encodeErrorResponse(503, '503 no worker'), () => {});
        request.end(undefined, 1);
      },
    });
    this.front.router = (socket) => this.#route(socket);
  }

  /** start: load (or fork) the first generation, listen, and install signals, watch and registry. */
  static async start(input: SupervisorInput): Promise<Supervisor> {
    let sup: Supervisor | undefined;
    if (input.control.workers === 1) {
      let front: FastCGIServer;
      try {
        front = await createAppServer(input.options, input.base, { beforeRequest: () => { if (sup) sup.#localRequest(); } });
      } catch (err) {
        return exitOnLoadError(err as Error);
      }
      sup = new Supervisor(input, front);
      const version = typeof input.options.app === 'string' ? appVersion(input.appName) : undefined;
      const owner = sup;
      sup.#slots = [new LocalBackend(front, version, (socket, done) => owner.#toWorker(socket, done))];
    } else {
      sup = new Supervisor(input, null);
      try {
        sup.#slots = await Promise.all(Array.from({ length: input.control.workers }, () => sup!.#startWorker(1)));
      } catch (err) {
        return exitOnLoadError(err as Error);
      }
    }
    await sup.front.listen(input.target);
    sup.#install();
    return sup;
  }

  /** reload: replace every slot in turn, each new worker ready before the old one drains. */
  reload(reason: string): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    if (this.#reloading) {
      this.#again = reason; // coalesced: one more reload after this one, for the latest code
      return this.#reloading;
    }
    this.#reloading = this.#runReload(reason).finally(() => {
      this.#reloading = null;
      const again = this.#again;
      this.#again = null;
      if (again !== null) void this.reload(again);
    });
    return this.#reloading;
  }

  async #runReload(reason: string): Promise<void> {
    const started = Date.now();
    const generation = ++this.#generation;
    log(`reload (${reason}): starting generation ${generation}`);
    this.#inReload = true;
    this.#writeStatus();
    let replaced = 0;
    try {
      for (; replaced < this.#slots.length && !this.#stopping; replaced++) await this.#replace(replaced, generation);
    } catch (err) {
      const message = (err as Error).message;
      // Nothing replaced: the generation serving is still the previous one.
      if (replaced === 0) this.#generation = generation - 1;
      this.#inReload = false;
      this.#lastReload = { at: new Date().toISOString(), reason, ok: false, error: message };
      problem('DUALCGI_ERR_RELOAD_FAILED', `reload (${reason}) failed, the previous code keeps serving: ${message}`);
      this.#writeStatus();
      return;
    }
    const ms = Date.now() - started;
    this.#inReload = false;
    this.#lastReload = { at: new Date().toISOString(), reason, ok: true, ms };
    const pids = this.#slots.map((b) => b.pid).join(', ');
    log(`reload (${reason}): generation ${generation} serving (pid ${pids}) after ${ms} ms; the previous one drains`);
    this.#writeStatus();
  }

  /** #replace: a new worker for slot i; the old backend retires only once the new one is ready. */
  async #replace(i: number, generation: number): Promise<void> {
    const fresh = await this.#startWorker(generation);
    const old = this.#slots[i]!;
    if (this.#stopping) {
      void fresh.retire(this.#control.drainMs, false);
      return;
    }
    this.#slots[i] = fresh;
    this.#flushHeld();
    this.#retire(old);
  }

  async #startWorker(generation: number): Promise<WorkerBackend> {
    if (!cluster.settings.exec) {
      // The same entry script and arguments as this process (dispatch.fcgi, or `dualcgi serve ...`).
      // stdin is not passed on: it is the listening socket, which stays with this process.
      cluster.setupPrimary({ exec: process.argv[1], args: process.argv.slice(2), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    }
    const env: Record<string, string> = {};
    if (this.#restart) env[WORKER_ENV.restartMtime] = String(this.#restart.baseline);
    const backend = new WorkerBackend(cluster, generation, env, {
      message: (b, m, handle) => this.#workerMessage(b, m, handle),
      exit: (b, code, signal) => this.#workerExit(b, code, signal),
    });
    await backend.ready;
    return backend;
  }

  #retire(old: Backend): void {
    this.#retired.add(old);
    void old.retire(this.#control.drainMs, !this.#stopping).then(() => {
      this.#retired.delete(old);
      this.#retiredRequests += old.requests;
      this.#writeStatus();
    });
  }

  #workerMessage(backend: Backend, message: FromWorker, handle: unknown): void {
    if (message.dualcgi === 'conn-back') {
      if (!(handle instanceof Socket)) return;
      // Received with reading started: stop it in this same turn, before any byte is read here.
      stopReading(handle);
      if (!this.#route(handle)) this.front.adopt(handle);
    } else if (message.dualcgi === 'reload') {
      if (message.mtime === undefined || this.#restart?.accept(message.mtime) !== false) void this.reload(message.reason);
    } else if (message.dualcgi === 'recycle') {
      this.#recycle(backend, message.reason);
    }
  }

  /** #recycle: replace one backend (max requests), keeping its slot's place. */
  #recycle(backend: Backend, reason: string): void {
    const i = this.#slots.indexOf(backend);
    if (i === -1 || backend.recycling || this.#stopping) return;
    backend.recycling = true;
    log(`recycling pid ${backend.pid}: ${reason}`);
    this.#replace(i, this.#generation).catch((err: Error) => {
      backend.recycling = false; // asked again later; meanwhile it keeps serving
      problem('DUALCGI_ERR_RECYCLE_FAILED', `recycling pid ${backend.pid} failed, it keeps serving: ${err.message}`);
    });
  }

  /** #workerExit: a worker that was serving died: another one takes its slot (with backoff). */
  #workerExit(backend: Backend, code: number | null, signal: string | null): void {
    const i = this.#slots.indexOf(backend);
    if (i === -1 || this.#stopping) return;
    this.#retiredRequests += backend.requests;
    const delay = RESPAWN_MS[Math.min(this.#respawns++, RESPAWN_MS.length - 1)]!;
    problem('DUALCGI_ERR_WORKER_EXIT', `worker ${backend.pid} exited unexpectedly (${signal ?? `code ${code}`}); another starts in ${delay} ms`);
    setTimeout(() => {
      if (this.#stopping || this.#slots[i] !== backend) return;
      this.#startWorker(this.#generation).then((fresh) => {
        if (this.#slots[i] !== backend) {
          void fresh.retire(this.#control.drainMs, false);
          return;
        }
        this.#respawns = 0;
        this.#slots[i] = fresh;
        this.#flushHeld();
      }, (err: Error) => {
        problem('DUALCGI_ERR_WORKER_START', `worker for slot ${i} failed to start: ${err.message}`);
        this.#workerExit(backend, code, signal);
      });
    }, delay);
  }

  /** #route: the router of the listening server: pick a ready backend round-robin, or hold. */
  #route(socket: Socket): boolean {
    this.#checkRestartFile();
    if (this.#holding) return this.#hold(socket);
    const n = this.#slots.length;
    for (let k = 0; k < n; k++) {
      const backend = this.#slots[(this.#next + k) % n]!;
      if (backend.state !== 'ready') continue;
      this.#next = (this.#next + k + 1) % n;
      if (backend.kind === 'local') return false;
      if (backend.take(socket)) return true;
    }
    return this.#hold(socket);
  }

  /** #toWorker: a kept-alive connection of the first generation (served here) goes to a ready worker. */
  #toWorker(socket: Socket, sent: () => void): void {
    const workers = this.#slots.filter((b) => b.kind === 'worker' && b.state === 'ready');
    const backend = workers[this.#next++ % Math.max(1, workers.length)];
    if (!backend || !backend.take(socket, sent)) this.#hold(socket);
  }

  #hold(socket: Socket): boolean {
    if (this.#stopping || this.#held.length >= MAX_HELD) socket.destroy();
    else this.#held.push(socket);
    return true;
  }

  #flushHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (const socket of held) {
      if (socket.destroyed) continue;
      if (!this.#route(socket)) this.front.adopt(socket);
    }
  }

  /** #localRequest: each request the owner serves itself (first generation, one slot). */
  #localRequest(): void {
    this.#checkRestartFile();
    const local = this.#slots[0];
    const max = this.#control.maxRequests;
    if (local?.kind === 'local' && max > 0 && this.front.requestsStarted >= max) {
      this.#recycle(local, `${this.front.requestsStarted} requests (--max-requests ${max})`);
    }
  }

  #checkRestartFile(): void {
    if (this.#restart?.check() == null) return;
    // Only with one slot: with several, the ones not replaced yet keep serving meanwhile.
    this.#holding = this.#slots.length === 1 && !this.#stopping;
    void this.reload('restart file touched').finally(() => {
      this.#holding = false;
      this.#flushHeld();
    });
  }

  #install(): void {
    const reload = (signal: string) => () => void this.reload(signal);
    // SIGUSR1 too, as Apache (graceful) and lighttpd operators expect; a listener also keeps
    // Node from opening its inspector on SIGUSR1.
    process.on('SIGHUP', reload('SIGHUP'));
    process.on('SIGUSR1', reload('SIGUSR1'));
    process.on('SIGTERM', () => this.#shutdown('SIGTERM'));
    process.on('SIGINT', () => this.#shutdown('SIGINT'));
    if (this.#control.watch.length > 0) {
      this.#watching = watchFolders(this.#control.watch, (file) => void this.reload(`watch: ${file} changed`));
    }
    if (this.#control.register) {
      this.#status = StatusFile.open();
      this.#writeStatus();
      setInterval(() => this.#writeStatus(), STATUS_MS).unref();
      process.once('exit', () => this.#status?.remove());
    }
  }

  #writeStatus(): void {
    if (!this.#status) return;
    const backends = [...this.#slots, ...this.#retired];
    this.#status.write(buildStatus({
      input: this.#input,
      listen: this.#input.target.kind === 'fd' ? this.#input.listenLabel : this.front.addressString(),
      generation: this.#generation,
      reloading: this.#inReload,
      lastReload: this.#lastReload,
      slots: this.#slots,
      backends,
      retiredRequests: this.#retiredRequests,
    }));
  }

  /** #shutdown: SIGTERM/SIGINT: stop accepting, let everyone finish, exit 0; a second signal exits at once. */
  #shutdown(signal: string): void {
    if (this.#stopping) {
      for (const b of [...this.#slots, ...this.#retired]) if (b.kind === 'worker') process.kill(b.pid, 'SIGKILL');
      process.exit(1);
    }
    this.#stopping = true;
    const busy = [...this.#slots, ...this.#retired].reduce((sum, b) => sum + b.inFlight, 0);
    log(`${signal}: stopped accepting; ${busy} request(s) in flight finish first (at most ${this.#control.drainMs / 1000} s)`);
    this.#watching?.stop();
    if (this.front.server.listening) this.front.server.close();
    for (const socket of this.#held) socket.destroy();
    this.#held = [];
    const all = [...this.#slots, ...this.#retired].map((b) => b.retire(this.#control.drainMs, false));
    const exit = (code: number): void => {
      log(`${signal}: drained, exit ${code}`);
      this.#status?.remove();
      traceProcessExit('fcgi', `${signal}: drained and stopped`, code).finally(() => process.exit(code));
    };
    Promise.all(all).then(() => exit(0), () => exit(1));
  }
}
