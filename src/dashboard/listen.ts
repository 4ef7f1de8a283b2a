import { readFileSync } from 'node:fs';
import { parseTraceTarget } from '../trace/target';
import type { TraceListenerOptions } from '../trace/listener';

/** ListenSpec: where dashboard/tail listen, and who may connect. */
export interface ListenSpec {
  path: string;
  options: TraceListenerOptions;
}

/** ListenSpecError: a bad --listen, --socket-mode or --socket-group; the commands report it as usage. */
export class ListenSpecError extends Error {
  readonly code = 'DASH_ERR_LISTEN';
}

/**
 * defaultListenPath: DUALCGI_TRACE's socket when it names one (so `dualcgi dashboard` and the app
 * agree with no flags), else /tmp/dualcgi-<uid>.sock.
 */
export function defaultListenPath(env: NodeJS.ProcessEnv = process.env): string {
  const value = env['DUALCGI_TRACE'];
  if (value) {
    try {
      const target = parseTraceTarget(value);
      if (target.kind === 'unix') return target.path;
    } catch {
      // not a socket target: fall back to the default
    }
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return `/tmp/dualcgi-${uid}.sock`;
}

/** listenPath: `unix:/path.sock` (or a bare absolute path) to the path. */
export function listenPath(value: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (value === undefined) return defaultListenPath(env);
  if (value.startsWith('unix:') && value.length > 5) return value.slice(5);
  if (value.startsWith('/')) return value;
  throw new ListenSpecError(`--listen takes unix:/path.sock, not ${JSON.stringify(value)} (producers connect to a Unix socket)`);
}

/** socketMode: octal permissions like `660` or `0660`. */
export function socketMode(value: string): number {
  if (!/^0?[0-7]{3}$/.test(value)) throw new ListenSpecError(`--socket-mode takes octal permissions like 660, not ${JSON.stringify(value)}`);
  return parseInt(value, 8);
}

/** groupId: a group name (looked up in /etc/group) or a numeric gid. */
export function groupId(value: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(value)) return Number(value);
  let text = '';
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    // no group file: fall through to the error
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === value && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new ListenSpecError(`--socket-group: no group named ${JSON.stringify(value)} (give a name from /etc/group or a gid)`);
}

/**
 * listenSpec: the flags to a spec. A group without a mode means "let that group write": 660, since
 * the default 600 would make the group useless.
 */
export function listenSpec(flags: { listen?: string; mode?: string; group?: string }, env: NodeJS.ProcessEnv = process.env): ListenSpec {
  const options: TraceListenerOptions = {};
  if (flags.group !== undefined) {
    options.gid = groupId(flags.group);
    options.mode = 0o660;
  }
  if (flags.mode !== undefined) options.mode = socketMode(flags.mode);
  return { path: listenPath(flags.listen, env), options };
}
