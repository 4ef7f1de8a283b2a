import type { Server, Socket } from 'node:net';
import { parseArgs, stringFlag } from '../args';
import type { Command, CommandIo } from '../command';
import { CliError, UsageError } from '../errors';
import { ListenSpecError, listenSpec, type ListenSpec } from '../../dashboard/listen';
import { createTailFormatter } from '../../dashboard/tail';
import { listenForTraces, TraceListenerError } from '../../trace/listener';
import type { ReadItem } from '../../trace/reader';

const flags = {
  listen: { type: 'string' },
  'socket-mode': { type: 'string' },
  'socket-group': { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

/** commandListenSpec: the listen flags, bad values as usage errors (shared with `dashboard`). */
export function commandListenSpec(args: ReturnType<typeof parseArgs>): ListenSpec {
  try {
    return listenSpec({ listen: stringFlag(args, 'listen'), mode: stringFlag(args, 'socket-mode'), group: stringFlag(args, 'socket-group') });
  } catch (err) {
    if (err instanceof ListenSpecError) throw new UsageError(err.message);
    throw err;
  }
}

/** listenError: "in use" and permission failures of listening as one clear line (with the fix). */
export function listenError(err: unknown, spec: ListenSpec): unknown {
  if (err instanceof TraceListenerError) return new CliError(err.code, `${err.message}; stop it or pass --listen unix:/another.sock`);
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new CliError('DASH_ERR_PERM', `cannot listen on ${spec.path}: ${e.message} (choose a --listen path you may write, or fix --socket-group)`);
  }
  return err;
}

async function listenOrFail(spec: ListenSpec, onItem: (item: ReadItem) => void): Promise<Server> {
  try {
    return await listenForTraces(spec.path, onItem, spec.options);
  } catch (err) {
    throw listenError(err, spec);
  }
}

/** untilStopped: a signal, or the output closing (`dualcgi tail | head`). */
function untilStopped(io: CommandIo): Promise<void> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const stop = (): void => {
      for (const s of signals) process.off(s, stop);
      io.stdout.off('error', stop);
      resolve();
    };
    for (const s of signals) process.on(s, stop);
    io.stdout.on('error', stop);
  });
}

/**
 * tail: the trace events as lines: pino-pretty for people (colors only on a terminal), `--json`
 * for jq. When stdout cannot keep up, producers are paused rather than buffered without bound.
 */
export const tail: Command = {
  summary: 'print live trace events as pretty lines (pino-pretty), or NDJSON with --json',
  usage: 'dualcgi tail [--listen unix:/path.sock] [--socket-mode 660] [--socket-group G] [--json] [-v]',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const spec = commandListenSpec(args);
    const out = io.stdout as NodeJS.WritableStream & { isTTY?: boolean };
    const colorize = out.isTTY === true && !process.env['NO_COLOR'];
    const format = args.flags['json'] === true ? jsonLine(io) : createTailFormatter({ verbose: args.flags['verbose'] === true, colorize });
    const producers = new Set<Socket>();
    // Output is gathered and written once per event loop turn: a producer's write holds many
    // lines, and one stdout write per line was a syscall per line (bench/ trace suite, tail's
    // µs per request in the `hello-cpu` group).
    let pending = '';
    const flush = (): void => {
      const text = pending;
      pending = '';
      if (text !== '' && !io.stdout.write(text)) for (const p of producers) p.pause();
    };
    const write = (item: ReadItem): void => {
      const text = format(item);
      if (text === null) return;
      if (pending === '') setImmediate(flush);
      pending += text;
    };
    io.stdout.on('drain', () => {
      for (const p of producers) p.resume();
    });
    const server = await listenOrFail(spec, write);
    server.on('connection', (socket: Socket) => {
      producers.add(socket);
      socket.on('close', () => producers.delete(socket));
    });
    // Apache and lighttpd start scripts without the shell's environment: the file is what reaches them.
    io.stderr.write(`dualcgi tail: listening on unix:${spec.path} (point the app at it: DUALCGI_TRACE=unix:${spec.path}, ` +
      'or that line in a .dualcgi-trace file next to its entry script)\n');
    await untilStopped(io);
    flush();
    for (const p of producers) p.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return 0;
  },
};

/**
 * jsonLine: --json: each event as one line; non-JSON lines go to stderr. A line that parsed is
 * passed on as it came (JSON strings cannot hold raw control characters, so only the whitespace
 * between tokens could be one): re-serializing every event was most of tail's CPU (bench/ trace
 * suite, `hello-cpu` group). Lines with a tab or CR between tokens are re-serialized. The events
 * of a grouped line come with lines dualcgi built (`built`), which need no look: the look made
 * V8 flatten each one there, 1.7% of tail's profile under the mock-client harness.
 */
function jsonLine(io: CommandIo): (item: ReadItem) => string | null {
  return (item) => {
    if (item.kind === 'event') {
      const line = item.line;
      if (item.built === true && line !== undefined) return `${line}\n`;
      return line !== undefined && !/[\t\r]/.test(line) ? `${line}\n` : `${JSON.stringify(item.event)}\n`;
    }
    io.stderr.write(`dualcgi tail: not a trace event: ${item.text.slice(0, 200)}\n`);
    return null;
  };
}
