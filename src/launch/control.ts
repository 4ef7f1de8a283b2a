import { dirname, resolve } from 'node:path';
import type { DispatchOptions } from './dispatch';

/** ProcessControl: how a FastCGI process reloads and recycles, normalised once from options and environment. */
export interface ProcessControl {
  /** workers: serving processes. 1 serves in the process itself until the first reload. */
  workers: number;
  /** maxRequests: replace a serving process after this many requests; 0 = never. */
  maxRequests: number;
  /** restartFile: absolute path, or null. */
  restartFile: string | null;
  /** watch: folders whose changes reload the app; empty = off. */
  watch: string[];
  /** drainMs: how long a graceful stop or a retired worker waits for in-flight requests. */
  drainMs: number;
  /** register: write a status file for `dualcgi ps` / `dualcgi reload`. */
  register: boolean;
}

/** ControlError: a bad process-control setting. code: LAUNCH_ERR_OPTION. */
export class ControlError extends Error {
  readonly code = 'LAUNCH_ERR_OPTION';

  constructor(message: string) {
    super(message);
    this.name = 'ControlError';
  }
}

function count(value: number | string | undefined, name: string, min: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min) throw new ControlError(`${name} must be an integer >= ${min}, not ${JSON.stringify(value)}`);
  return n;
}

/**
 * processControl: options win over the environment. The environment variables exist for launches
 * that cannot pass flags: mod_fcgid (`FcgidInitialEnv DUALCGI_RESTART_FILE ...`), lighttpd
 * (`bin-environment`), spawn-fcgi. Relative paths resolve against the entry script's folder
 * (`base`), since a web server's cwd is not the app's.
 */
export function processControl(options: DispatchOptions, base: string, env: NodeJS.ProcessEnv = process.env): ProcessControl {
  const workers = count(options.workers ?? env['DUALCGI_WORKERS'], 'workers', 1) ?? 1;
  const maxRequests = count(options.maxRequests ?? env['DUALCGI_MAX_REQUESTS'], 'maxRequests', 0) ?? 0;
  const restart = options.restartFile ?? env['DUALCGI_RESTART_FILE'];
  const watchOption = options.watch ?? (env['DUALCGI_WATCH'] ? env['DUALCGI_WATCH'] !== '0' : false);
  let watch: string[] = [];
  if (Array.isArray(watchOption)) watch = watchOption.map((p) => resolve(base, p));
  else if (watchOption) watch = [typeof options.app === 'string' ? dirname(resolve(base, options.app)) : base];
  return {
    workers,
    maxRequests,
    restartFile: restart ? resolve(base, restart) : null,
    watch,
    drainMs: options.drainMs ?? 30_000,
    register: options.register ?? env['DUALCGI_RUN_DIR'] !== 'off',
  };
}
