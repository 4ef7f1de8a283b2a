import { dirname } from 'node:path';
import { parseAddress, type Address } from '../../net/address';
import { parseArgs, stringFlag } from '../args';
import type { Command } from '../command';
import { CliError, UsageError } from '../errors';

const flags = {
  listen: { type: 'string' },
  upstream: { type: 'string' },
  trace: { type: 'string' },
  capture: { type: 'string' },
  'capture-max-bytes': { type: 'string' },
  'capture-max-files': { type: 'string' },
  'socket-mode': { type: 'string' },
} as const;

/**
 * tap: a transparent FastCGI proxy between a web server and any FastCGI app (php-fpm, a Go or
 * Python responder, dualcgi itself) that traces both directions, so `dualcgi dashboard` shows that
 * traffic too, and with --capture writes each connection's bytes for `dualcgi replay`.
 */
export const tap: Command = {
  summary: 'transparent FastCGI proxy that traces (and captures) both directions',
  usage: 'dualcgi tap --listen ADDR --upstream ADDR [--trace unix:/path.sock|file:/path.ndjson|stderr] ' +
    '[--capture DIR] [--capture-max-bytes N] [--capture-max-files N] [--socket-mode 666]\n' +
    '  point the web server (fastcgi_pass, FcgidWrapper, ProxyPass fcgi://) at --listen; --upstream is the app\n' +
    '  --trace: default DUALCGI_TRACE; --capture: one file per connection (16 MiB each, 500 files by default)\n' +
    '  runs until SIGINT/SIGTERM; exit status: 0 stopped by a signal, 1 cannot listen, 2 usage error',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const listen = address(stringFlag(args, 'listen'), '--listen');
    const upstream = address(stringFlag(args, 'upstream'), '--upstream');
    const captureDir = stringFlag(args, 'capture');
    const maxFileBytes = count(stringFlag(args, 'capture-max-bytes'), 'capture-max-bytes');
    const maxFiles = count(stringFlag(args, 'capture-max-files'), 'capture-max-files');
    const modeFlag = stringFlag(args, 'socket-mode');
    if (modeFlag !== undefined && !/^[0-7]{3,4}$/.test(modeFlag)) throw new UsageError(`--socket-mode expects octal like 660, got ${JSON.stringify(modeFlag)}`);
    const sink = startTrace(stringFlag(args, 'trace'));
    if (captureDir !== undefined) {
      const { prepareCaptureDir } = require('../../capture/writer') as typeof import('../../capture/writer');
      prepareCaptureDir(captureDir);
    }
    const { TapServer } = require('../../tap/proxy') as typeof import('../../tap/proxy');
    const server = new TapServer({
      listen, upstream,
      ...(captureDir !== undefined ? { captureDir, capture: { ...(maxFileBytes ? { maxFileBytes } : {}), ...(maxFiles ? { maxFiles } : {}) } } : {}),
      ...(modeFlag !== undefined ? { socketMode: parseInt(modeFlag, 8) } : {}),
    });
    try {
      await server.listen();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Node reports a Unix socket path whose folder is missing as EACCES, which sends people to chmod.
      const folder = listen.kind === 'unix' && (code === 'EACCES' || code === 'ENOENT') ? ` (does ${dirname(listen.path)} exist, and may this user write there?)` : '';
      throw new CliError('CLI_ERR_LISTEN', `cannot listen on ${stringFlag(args, 'listen')}: ${code ?? (err as Error).message}${folder}`);
    }
    io.stderr.write(`dualcgi tap: ${server.addressString()} -> ${stringFlag(args, 'upstream')}` +
      `${sink ? ` (trace: ${sink.shown})` : ''}${captureDir !== undefined ? ` (capture: ${captureDir})` : ''}\n`);
    await untilSignal();
    await server.close();
    await sink?.sink.flush(500);
    return 0;
  },
};

function address(value: string | undefined, flag: string): Address {
  if (value === undefined) throw new UsageError(`${flag} ADDR is required`);
  try {
    return parseAddress(value);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
}

function count(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--${flag} expects a positive number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** startTrace: the sink for --trace (or DUALCGI_TRACE). The tap's own console output is not traced. */
function startTrace(option: string | undefined): { sink: import('../../trace/sink').Sink; shown: string } | null {
  const { resolveTraceTarget } = require('../../trace/install') as typeof import('../../trace/install');
  const { createSink } = require('../../trace/sink') as typeof import('../../trace/sink');
  const { formatTraceTarget } = require('../../trace/target') as typeof import('../../trace/target');
  const { traceOptions } = require('../../trace/redact') as typeof import('../../trace/redact');
  let resolved;
  try {
    resolved = resolveTraceTarget(option, undefined);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (resolved.target.kind === 'off') return null;
  traceOptions.showSecrets = process.env['DUALCGI_SHOW_SECRETS'] === '1';
  const shown = formatTraceTarget(resolved.target);
  try {
    return { sink: createSink(resolved.target), shown };
  } catch (err) {
    throw new CliError('CLI_ERR_TRACE', `cannot write the trace to ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** untilSignal: resolves at the first SIGINT or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
