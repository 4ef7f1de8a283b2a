import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ParsedArgs, parseArgs, stringFlag } from '../args';
import type { DispatchOptions } from '../../launch/dispatch';
import type { Command } from '../command';
import { CliError, UsageError } from '../errors';
import { parseAddress } from '../../net/address';
import { originalStderrWrite } from '../../trace/stdio';

const flags = {
  bind: { type: 'string' },
  mode: { type: 'string' },
  'env-file': { type: 'string' },
  'socket-mode': { type: 'string' },
  'socket-owner': { type: 'string' },
  timeout: { type: 'string' },
  debug: { type: 'boolean' },
  'no-strip-mount': { type: 'boolean' },
  'max-conns': { type: 'string' },
  'max-reqs': { type: 'string' },
  'no-multiplex': { type: 'boolean' },
  workers: { type: 'string' },
  'max-requests': { type: 'string' },
  'restart-file': { type: 'string' },
  watch: { type: 'boolean' },
  'drain-timeout': { type: 'string' },
  trace: { type: 'string' },
  capture: { type: 'string' },
  'no-register': { type: 'boolean' },
} as const;

/** idOf: a user or group name (or number) from /etc/passwd or /etc/group. */
function idOf(name: string, file: '/etc/passwd' | '/etc/group'): number {
  if (/^[0-9]+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // no such file: fall through to the usage error
  }
  for (const line of text.split('\n')) {
    const cols = line.split(':');
    if (cols[0] === name && cols[2] !== undefined) return Number(cols[2]);
  }
  throw new UsageError(`--socket-owner: no ${file === '/etc/passwd' ? 'user' : 'group'} named ${JSON.stringify(name)}`);
}

/** parseOwner: USER, USER:GROUP or :GROUP (names or numbers). */
function parseOwner(value: string | undefined): { uid?: number; gid?: number } | undefined {
  if (value === undefined) return undefined;
  const [user, group] = value.split(':');
  const owner: { uid?: number; gid?: number } = {};
  if (user) owner.uid = idOf(user, '/etc/passwd');
  if (group) owner.gid = idOf(group, '/etc/group');
  return owner;
}

/** intFlag: a whole decimal number (radix 8: an octal mode such as 660); anything else is a usage error, never a prefix. */
function intFlag(value: string | undefined, name: string, radix: 8 | 10 = 10): number | undefined {
  if (value === undefined) return undefined;
  if (!(radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/).test(value)) {
    throw new UsageError(`--${name} expects ${radix === 8 ? 'an octal mode such as 660' : 'a number'}, got ${JSON.stringify(value)}`);
  }
  return parseInt(value, radix);
}

/** appFile: APP as an absolute path; one that does not exist is one line now, not a load error's require stack later. */
function appFile(arg: string): string {
  const file = resolve(arg);
  if (existsSync(file)) return file; // unreadable, a folder, ...: the loader says what is wrong
  try {
    require.resolve(file); // what loading it will look for: the file, else file.js, dir/index.js, ...
  } catch {
    throw new CliError('CLI_ERR_NO_APP', `no such app: ${file} (APP is the file that exports the app, e.g. app.js)`);
  }
  return file;
}

/**
 * launchedByServer: without --bind, serve serves what a web server handed it (a listening socket on
 * fd 0, a CGI environment); run from a shell it has nothing, which is a usage error here (dispatch's
 * own explanation is written for an entry script). Workers of --workers are started by their owner.
 */
function launchedByServer(options: DispatchOptions): boolean {
  if (options.bind !== undefined || (options.mode !== undefined && options.mode !== 'auto') || process.env['DUALCGI_WORKER'] === '1') return true;
  const { detectMode } = require('../../launch/detect') as typeof import('../../launch/detect');
  return detectMode({ env: process.env, scriptPath: undefined }).mode !== 'none';
}

/** serve: run APP as a FastCGI server on --bind (nginx fastcgi_pass, php-fpm style) or on fd 0. */
export const serve: Command = {
  summary: 'serve an app over FastCGI on an address (or as launched: fd 0, CGI)',
  usage: 'dualcgi serve [--bind unix:/path.sock|HOST:PORT] [--mode auto|cgi|fcgi] [--env-file F] [--socket-mode 660] [--socket-owner USER[:GROUP]] [--timeout SECONDS] [--debug] [--capture DIR]\n' +
    '  [--workers N] [--max-requests N] [--restart-file FILE] [--watch] [--drain-timeout SECONDS] [--trace TARGET] [--no-register]\n' +
    '  [--max-conns N] [--max-reqs N] [--no-multiplex] [--no-strip-mount] APP\n' +
    '  --max-conns N: FCGI_MAX_CONNS, connections beyond it are closed (default 1024); --max-reqs N: FCGI_MAX_REQS, requests\n' +
    '    in flight beyond it get OVERLOADED (default 1024); --no-multiplex: FCGI_MPXS_CONNS 0; --no-strip-mount: the app routes\n' +
    '    on REQUEST_URI\'s whole path (dispatch({ stripMountPoint: false }))\n' +
    '  --env-file F: KEY=value lines (set variables win); F must exist: Node itself reads --env-file anywhere on its\n' +
    '    command line and stops with "node: F: not found", exit 9, before dualcgi runs (nodejs/node#54232)\n' +
    '  signals: SIGTERM/SIGINT stop gracefully; SIGHUP/SIGUSR1 reload gracefully (new workers take the socket, old ones drain)',
  async run(argv) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length !== 1) throw new UsageError('expected exactly one APP path');
    const options = dispatchOptions(args);
    if (!launchedByServer(options)) {
      throw new UsageError('nothing to serve on: give --bind unix:/path.sock or HOST:PORT (without it, serve takes a web server\'s listening socket on fd 0 or a CGI environment)');
    }
    const { dispatch } = require('../../launch/dispatch') as typeof import('../../launch/dispatch');
    const running = await dispatch(options);
    if (running.worker) await new Promise<never>(() => {}); // a worker: its owner already said where it listens
    if (running.server) {
      // Past the console capture: dualcgi's own line, not the app's output (it was an app.log WARN).
      originalStderrWrite(`dualcgi: serving FastCGI on ${running.server.addressString() || 'fd 0'} (${running.detection.reason})\n`);
      await new Promise<never>(() => {}); // until a signal: shutdown exits the process
    }
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  },
};

/** dispatchOptions: the flags, checked (usage errors early), as dispatch() options. */
function dispatchOptions(args: ParsedArgs): DispatchOptions {
  const mode = stringFlag(args, 'mode') ?? 'auto';
  if (mode !== 'auto' && mode !== 'cgi' && mode !== 'fcgi') throw new UsageError(`--mode must be auto, cgi or fcgi, not ${JSON.stringify(mode)}`);
  const bind = stringFlag(args, 'bind');
  if (bind !== undefined) {
    try {
      parseAddress(bind);
    } catch (err) {
      throw new UsageError((err as Error).message); // a bad address is a usage error, caught early
    }
  }
  const workers = intFlag(stringFlag(args, 'workers'), 'workers');
  if (workers === 0) throw new UsageError('--workers must be at least 1');
  const drain = intFlag(stringFlag(args, 'drain-timeout'), 'drain-timeout');
  const restartFile = stringFlag(args, 'restart-file');
  return {
    app: appFile(args.positionals[0]!),
    mode,
    ...(bind !== undefined ? { bind } : {}),
    envFile: stringFlag(args, 'env-file'),
    debug: args.flags['debug'] === true ? true : undefined,
    stripMountPoint: args.flags['no-strip-mount'] !== true,
    socketMode: intFlag(stringFlag(args, 'socket-mode'), 'socket-mode', 8),
    socketOwner: parseOwner(stringFlag(args, 'socket-owner')),
    ...(stringFlag(args, 'timeout') !== undefined ? { timeoutMs: intFlag(stringFlag(args, 'timeout'), 'timeout')! * 1000 } : {}),
    maxConns: intFlag(stringFlag(args, 'max-conns'), 'max-conns'),
    maxReqs: intFlag(stringFlag(args, 'max-reqs'), 'max-reqs'),
    multiplex: args.flags['no-multiplex'] !== true,
    workers,
    maxRequests: intFlag(stringFlag(args, 'max-requests'), 'max-requests'),
    // Relative to where the command runs (not to the entry script, as in dispatch.fcgi).
    ...(restartFile !== undefined ? { restartFile: resolve(restartFile) } : {}),
    ...(args.flags['watch'] === true ? { watch: true } : {}),
    ...(drain !== undefined ? { drainMs: drain * 1000 } : {}),
    trace: stringFlag(args, 'trace'),
    capture: stringFlag(args, 'capture'),
    ...(args.flags['no-register'] === true ? { register: false } : {}),
  };
}
