import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from './backend';
import { procStartTicks } from './proc';
import type { LastReload, ProcessStatus, WorkerStatus } from './registry';
import type { SupervisorInput } from './supervisor';

/** StatusInput: the supervisor's state at one moment. */
export interface StatusInput {
  input: SupervisorInput;
  listen: string;
  generation: number;
  reloading: boolean;
  lastReload: LastReload | undefined;
  /** slots: the backends taking connections now. */
  slots: Backend[];
  /** backends: slots plus the retired ones still draining. */
  backends: Backend[];
  retiredRequests: number;
}

const startedAt = new Date().toISOString();
let dualcgiVersion: string | undefined;

function ownVersion(): string | undefined {
  if (dualcgiVersion === undefined) {
    try {
      dualcgiVersion = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version?: string }).version ?? '';
    } catch {
      dualcgiVersion = '';
    }
  }
  return dualcgiVersion || undefined;
}

function workerStatus(b: Backend): WorkerStatus {
  return {
    pid: b.pid, generation: b.generation, state: b.state, requests: b.requests, inFlight: b.inFlight,
    ...(b.version !== undefined ? { version: b.version } : {}), loadedAt: b.loadedAt,
  };
}

/** buildStatus: the status file content (launch/registry) for `dualcgi ps`. */
export function buildStatus(s: StatusInput): ProcessStatus {
  const { input } = s;
  const newest = s.slots[s.slots.length - 1];
  const local = s.slots.find((b) => b.kind === 'local');
  return {
    pid: process.pid,
    ppid: process.ppid,
    uid: typeof process.getuid === 'function' ? process.getuid() : 0,
    startTicks: procStartTicks(process.pid) ?? 0,
    startedAt,
    updatedAt: new Date().toISOString(),
    mode: 'fcgi',
    app: input.appName,
    ...(input.scriptPath !== undefined ? { script: input.scriptPath } : {}),
    listen: s.listen,
    generation: s.generation,
    reloading: s.reloading,
    ...(s.lastReload ? { lastReload: s.lastReload } : {}),
    requests: s.retiredRequests + s.backends.reduce((sum, b) => sum + b.requests, 0),
    inFlight: s.backends.reduce((sum, b) => sum + b.inFlight, 0),
    ...(newest?.version !== undefined ? { version: newest.version } : {}),
    loadedAt: newest?.loadedAt ?? startedAt,
    restartFile: input.control.restartFile,
    watch: input.control.watch.length > 0,
    maxRequests: input.control.maxRequests,
    servesItself: local !== undefined,
    workers: s.backends.filter((b) => b.kind === 'worker').map(workerStatus),
    node: process.version,
    ...(ownVersion() !== undefined ? { dualcgi: ownVersion() } : {}),
  };
}
