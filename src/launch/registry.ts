import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentUid, isSameProcess, procUid } from './proc';

/**
 * The process registry behind `dualcgi ps` and `dualcgi reload`. Each FastCGI process that owns a
 * listening socket writes `<run dir>/<pid>.json` and keeps it current; CGI hits (one request,
 * then gone) do not register. Chosen over scanning /proc because a process knows what no
 * command line shows: its app, generation, requests served, in flight, the code version loaded
 * and how its last reload went; and /proc/PID/environ of another user is unreadable anyway.
 *
 * Where: $DUALCGI_RUN_DIR ("off" disables), else $XDG_RUNTIME_DIR/dualcgi, else
 * /tmp/dualcgi-<uid>. A folder is used only if it is a real folder owned by that uid and not
 * writable by others (mode 0700 when created), so nobody else can plant entries; every entry is
 * checked against /proc (same pid, same start time, same uid) before it is shown or signalled.
 */

/** WorkerStatus: one worker process of an owner. */
export interface WorkerStatus {
  pid: number;
  generation: number;
  state: string;
  requests: number;
  inFlight: number;
  version?: string;
  loadedAt: string;
}

/** LastReload: how the most recent reload went. */
export interface LastReload {
  at: string;
  reason: string;
  ok: boolean;
  ms?: number;
  error?: string;
}

/** ProcessStatus: the content of a status file. */
export interface ProcessStatus {
  pid: number;
  ppid: number;
  uid: number;
  startTicks: number;
  startedAt: string;
  updatedAt: string;
  mode: 'fcgi';
  app: string;
  script?: string;
  /** listen: the address, or "fd 0 (...)" for a socket inherited from the web server. */
  listen: string;
  generation: number;
  reloading: boolean;
  lastReload?: LastReload;
  /** requests: served since the process started, by every worker it ever had. */
  requests: number;
  inFlight: number;
  /** version: package.json version of the app serving now (the newest worker's). */
  version?: string;
  loadedAt: string;
  restartFile: string | null;
  watch: boolean;
  maxRequests: number;
  /** servesItself: the process still serves with the app it loaded at start (no worker yet). */
  servesItself: boolean;
  workers: WorkerStatus[];
  node: string;
  dualcgi?: string;
}

/** runDir: where this process registers, or null when registration is off. */
export function runDir(env: NodeJS.ProcessEnv = process.env, uid = currentUid()): string | null {
  const explicit = env['DUALCGI_RUN_DIR'];
  if (explicit === 'off') return null;
  if (explicit) return explicit;
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg && isSafeDir(xdg, uid)) return join(xdg, 'dualcgi');
  return `/tmp/dualcgi-${uid}`;
}

/** isSafeDir: a real folder (not a symlink) owned by uid, not writable by group or others. */
function isSafeDir(dir: string, uid: number): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** ensureRunDir: create the folder 0700 if needed; null when it is missing and cannot be made safe. */
function ensureRunDir(dir: string, uid: number): string | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return null;
  }
  return isSafeDir(dir, uid) ? dir : null;
}

/** StatusFile: this process's entry; write() is atomic (temp file + rename). */
export class StatusFile {
  readonly path: string;
  #last = '';

  private constructor(path: string) {
    this.path = path;
  }

  /** open: the status file of this process, or null if no safe run dir is available. */
  static open(env: NodeJS.ProcessEnv = process.env): StatusFile | null {
    const uid = currentUid();
    const dir = runDir(env, uid);
    if (dir === null) return null;
    const safe = ensureRunDir(dir, uid);
    return safe ? new StatusFile(join(safe, `${process.pid}.json`)) : null;
  }

  /** write: only when something but `updatedAt` changed, unless `force`. */
  write(status: ProcessStatus, force = false): void {
    const { updatedAt: _ignored, ...rest } = status;
    const key = JSON.stringify(rest);
    if (!force && key === this.#last) return;
    this.#last = key;
    const tmp = `${this.path}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(status, null, 1)}\n`, { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch {
      // a full or vanished run dir must not take the app down; ps just shows less
    }
  }

  remove(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** RegistryDir: a folder to read and the uid its entries must run as. */
export interface RegistryDir {
  dir: string;
  uid: number;
}

/**
 * registryDirs: the folders `ps` reads: this user's (every place a process of theirs may have
 * chosen, since a systemd service has no XDG_RUNTIME_DIR while a login shell has one), and as
 * root every user's.
 */
export function registryDirs(env: NodeJS.ProcessEnv = process.env, uid = currentUid()): RegistryDir[] {
  const out = new Map<string, RegistryDir>();
  const add = (dir: string, owner: number): void => {
    if (!out.has(dir) && isSafeDir(dir, owner)) out.set(dir, { dir, uid: owner });
  };
  const explicit = env['DUALCGI_RUN_DIR'];
  if (explicit && explicit !== 'off') add(explicit, uid);
  if (env['XDG_RUNTIME_DIR']) add(join(env['XDG_RUNTIME_DIR'], 'dualcgi'), uid);
  add(`/tmp/dualcgi-${uid}`, uid);
  if (uid !== 0) return [...out.values()];
  for (const name of safeReaddir('/tmp')) {
    const m = /^dualcgi-(\d+)$/.exec(name);
    if (m) add(join('/tmp', name), Number(m[1]));
  }
  for (const name of safeReaddir('/run/user')) {
    if (/^\d+$/.test(name)) add(join('/run/user', name, 'dualcgi'), Number(name));
  }
  return [...out.values()];
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * readStatuses: every live registered process. An entry whose process is gone (or whose pid now
 * belongs to another process or user) is stale: removed when we may, never shown.
 */
export function readStatuses(dirs: RegistryDir[] = registryDirs()): ProcessStatus[] {
  const out: ProcessStatus[] = [];
  const seen = new Set<number>();
  for (const { dir, uid } of dirs) {
    for (const name of safeReaddir(dir)) {
      if (!/^\d+\.json$/.test(name)) continue;
      const file = join(dir, name);
      const status = parseStatus(file);
      if (status === null || seen.has(status.pid)) continue;
      if (!isSameProcess(status.pid, status.startTicks) || procUid(status.pid) !== uid) {
        try {
          unlinkSync(file);
        } catch {
          // not ours to remove
        }
        continue;
      }
      seen.add(status.pid);
      out.push(status);
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

function parseStatus(file: string): ProcessStatus | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<ProcessStatus>;
    if (typeof value.pid !== 'number' || typeof value.startTicks !== 'number') return null;
    if (`${value.pid}.json` !== file.slice(file.lastIndexOf('/') + 1)) return null;
    return value as ProcessStatus;
  } catch {
    return null; // half-written or foreign: skip
  }
}
