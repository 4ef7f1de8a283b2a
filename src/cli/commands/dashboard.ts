import { parseArgs, stringFlag } from '../args';
import type { Command } from '../command';
import { CliError, UsageError } from '../errors';
import { commandListenSpec, listenError } from './tail';

const flags = {
  listen: { type: 'string' },
  'socket-mode': { type: 'string' },
  'socket-group': { type: 'string' },
  'max-requests': { type: 'string' },
  'show-secrets': { type: 'boolean' },
} as const;

function maxRequests(value: string | undefined): number {
  if (value === undefined) return 1000;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1_000_000) throw new UsageError(`--max-requests takes a number from 1 to 1000000, not ${JSON.stringify(value)}`);
  return n;
}

/**
 * dashboard: the live TUI (blessed). Listens on the trace socket that apps publish to
 * (DUALCGI_TRACE), shows requests, their records and logs; quits on `q`.
 */
export const dashboard: Command = {
  summary: 'live TUI of every request, record and app log (alias: top)',
  usage: 'dualcgi dashboard [--listen unix:/path.sock] [--socket-mode 660] [--socket-group www-data] [--max-requests N] [--show-secrets]',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const spec = commandListenSpec(args);
    const max = maxRequests(stringFlag(args, 'max-requests'));
    const out = io.stdout as NodeJS.WritableStream & { isTTY?: boolean };
    if (out.isTTY !== true || process.stdin.isTTY !== true) {
      throw new CliError('DASH_ERR_TTY', "the dashboard needs a terminal; for pipes and logs use 'dualcgi tail'");
    }
    const { runDashboard } = require('../../dashboard/run') as typeof import('../../dashboard/run');
    const options = { listen: spec, maxRequests: max, showSecrets: args.flags['show-secrets'] === true, output: io.stdout };
    const running = await runDashboard(options).catch((err: unknown) => {
      throw listenError(err, spec);
    });
    await running.done;
    return 0;
  },
};
