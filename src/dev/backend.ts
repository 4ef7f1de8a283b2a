import type { LaunchedFastCGI } from '../client/launch';
import { launchFastCGIScript, runCgiScript } from '../client/launch';
import { failureExcerpt } from '../client/stack-excerpt';
import { FastCGIClientConnection } from '../client/fastcgi-client';

/** BackendAnswer: the script's CGI output (head + body), and who produced it. */
export interface BackendAnswer {
  stdout: Buffer;
  pid: number;
}

/** DevBackend: runs the entry script the way the emulated module does. */
export interface DevBackend {
  readonly mode: 'cgi' | 'fcgi';
  answer(params: Array<[string, string]>, body: Buffer): Promise<BackendAnswer>;
  close(): Promise<void>;
}

/** TIMEOUT_MS: Apache's default Timeout (60 s) for one answer. */
const TIMEOUT_MS = 60_000;

/**
 * FcgiBackend: as mod_fcgid: the script gets a listening Unix socket on fd 0 and PATH only (plus
 * what `env` adds, as FcgidInitialEnv would), each request a new connection without KEEP_CONN. A
 * process that has died is started again at the next request, as mod_fcgid does.
 */
export class FcgiBackend implements DevBackend {
  readonly mode = 'fcgi' as const;
  #script: string;
  #env: Record<string, string>;
  #log: (line: string) => void;
  #launched: Promise<LaunchedFastCGI> | null = null;

  constructor(script: string, env: Record<string, string>, log: (line: string) => void) {
    this.#script = script;
    this.#env = env;
    this.#log = log;
  }

  #process(): Promise<LaunchedFastCGI> {
    if (this.#launched) return this.#launched;
    const launching = launchFastCGIScript(this.#script, { env: this.#env });
    this.#launched = launching;
    launching.then((l) => {
      this.#log(`started ${this.#script} (pid ${l.child.pid}) with a listening socket on fd 0`);
      void l.exited.then(({ code, signal }) => {
        if (this.#launched === launching) this.#launched = null;
        this.#log(`${this.#script} (pid ${l.child.pid}) exited (${signal ?? `code ${code}`}); the next request starts it again`);
        const stderr = l.output().stderr.toString('utf8').trim();
        // What failed and where (a load error's file:line), not the last frames of its stack.
        if (code !== 0 && stderr) this.#log(`its stderr:\n${failureExcerpt(stderr)}`);
      });
    }, () => {
      if (this.#launched === launching) this.#launched = null;
    });
    return launching;
  }

  async answer(params: Array<[string, string]>, body: Buffer): Promise<BackendAnswer> {
    const launched = await this.#process();
    const conn = await FastCGIClientConnection.connect(launched.address);
    const timer = setTimeout(() => conn.destroy(), TIMEOUT_MS);
    try {
      const res = await conn.request({ params, body });
      return { stdout: res.stdout, pid: launched.child.pid ?? 0 };
    } finally {
      clearTimeout(timer);
      conn.destroy();
    }
  }

  async close(): Promise<void> {
    const launched = this.#launched;
    this.#launched = null;
    if (launched) await (await launched).stop(5000);
  }
}

/** CgiBackend: as mod_cgi: a process per request, the params as its environment, the body on stdin. */
export class CgiBackend implements DevBackend {
  readonly mode = 'cgi' as const;
  #script: string;
  #env: Record<string, string>;
  #log: (line: string) => void;

  constructor(script: string, env: Record<string, string>, log: (line: string) => void) {
    this.#script = script;
    this.#env = env;
    this.#log = log;
  }

  async answer(params: Array<[string, string]>, body: Buffer): Promise<BackendAnswer> {
    const env: Array<[string, string]> = [...Object.entries(this.#env), ...params];
    const r = await runCgiScript(this.#script, { env, stdin: body, timeoutMs: TIMEOUT_MS });
    // mod_cgi puts the script's stderr into the error log: here, the terminal.
    const stderr = r.stderr.toString('utf8').trim();
    if (stderr) this.#log(stderr);
    return { stdout: r.stdout, pid: 0 };
  }

  async close(): Promise<void> {}
}
