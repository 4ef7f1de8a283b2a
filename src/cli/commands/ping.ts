import { pingFailure } from '../../client/ping';
import { type Address, parseAddress } from '../../net/address';
import { parseArgs, secondsMs } from '../args';
import type { Command } from '../command';
import { UsageError } from '../errors';

const flags = {
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { short: 'q', type: 'boolean' },
} as const;

/**
 * ping: FCGI_GET_VALUES as a health check. One line on stdout (or JSON), exit 0 when the responder
 * answered, 1 when it did not (the reason on stderr): what systemd, monit or a load balancer needs.
 */
export const ping: Command = {
  summary: 'FCGI_GET_VALUES health check: the values and the round-trip time; exit 0 or 1',
  usage: 'dualcgi ping TARGET [--timeout SECONDS (default 5)] [--json] [-q]\n' +
    '  TARGET: unix:/path.sock, HOST:PORT or :PORT\n' +
    '  exit status: 0 it answered GET_VALUES; 1 it did not (refused, no socket, closed, timeout); 2 usage error',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length !== 1) throw new UsageError('expected one TARGET');
    const address = parseTarget(args.positionals[0]!);
    const timeoutMs = secondsMs(args, 'timeout', '5');
    const { ping: send } = require('../../client/ping') as typeof import('../../client/ping');
    try {
      const result = await send(address, timeoutMs);
      if (args.flags['json'] === true) io.stdout.write(`${JSON.stringify({ ok: true, ...result, values: Object.fromEntries(result.values) })}\n`);
      else if (args.flags['quiet'] !== true) {
        const values = result.values.map(([n, v]) => `${n}=${v}`).join(' ') || '(no values)';
        io.stdout.write(`${result.address} ok rtt=${result.rttMs.toFixed(3)}ms connect=${result.connectMs.toFixed(3)}ms ${values}\n`);
      }
      return 0;
    } catch (err) {
      const line = pingFailure(err, address);
      if (args.flags['json'] === true) io.stdout.write(`${JSON.stringify({ ok: false, error: line })}\n`);
      io.stderr.write(`dualcgi ping: ${line}\n`);
      return 1;
    }
  },
};

function parseTarget(target: string): Address {
  try {
    return parseAddress(target);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
