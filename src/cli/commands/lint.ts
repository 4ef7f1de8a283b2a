import { withParams } from '../../client/params';
import { profileByName } from '../../client/profiles';
import { type Address, parseAddress } from '../../net/address';
import { listFlag, nameValues, parseArgs, secondsMs, stringFlag } from '../args';
import type { Command } from '../command';
import { UsageError } from '../errors';

const flags = {
  path: { type: 'string' },
  docroot: { type: 'string' },
  param: { type: 'string', repeat: true },
  only: { type: 'string', repeat: true },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * lint: a conformance scorecard for any FastCGI responder. Each check runs on its own connections;
 * a responder that crashes, hangs or answers garbage fails that check and the rest still run.
 */
export const lint: Command = {
  summary: 'conformance scorecard of any FastCGI responder (one line per spec behaviour, and a score)',
  usage: 'dualcgi lint TARGET [--path /PATH] [--docroot DIR] [--param NAME=VALUE]... [--only CHECK]... ' +
    '[--timeout SECONDS (default 3)] [--json]\n' +
    '  TARGET: unix:/path.sock or HOST:PORT; every check sends a GET for --path (default /) as nginx does\n' +
    '    (SCRIPT_FILENAME = --docroot + --path, PATH_INFO = --path); --param adds or replaces one\n' +
    '  make it a path that answers 200: split-pairs and padding compare their answer with its\n' +
    '  checks: request get-values split-pairs padding large-streams unknown-type unknown-role abort\n' +
    '    keep-conn multiplexing garbage; PASS scores 1, WARN 0.5 (works, not as the spec asks), FAIL 0\n' +
    '  exit status: 0 no check failed; 1 a check failed, or nothing listens at TARGET; 2 usage error',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length !== 1) throw new UsageError('expected one TARGET');
    const address = parseTarget(args.positionals[0]!);
    const path = stringFlag(args, 'path') ?? '/';
    if (!path.startsWith('/')) throw new UsageError(`--path must start with '/', got ${JSON.stringify(path)}`);
    const timeoutMs = secondsMs(args, 'timeout', '3');
    const { runLint, formatResult, checkNames } = require('../../lint/run') as typeof import('../../lint/run');
    const only = listFlag(args, 'only');
    const unknown = only.filter((name) => !checkNames().includes(name));
    if (unknown.length > 0) throw new UsageError(`no check named ${unknown.join(', ')} (checks: ${checkNames().join(' ')})`);
    const json = args.flags['json'] === true;
    const params = requestParams(path, stringFlag(args, 'docroot'), nameValues(args, 'param'));
    await reachable(address);
    if (!json) io.stdout.write(`dualcgi lint ${args.positionals[0]}\n`);
    const report = await runLint({
      address, params, timeoutMs,
      ...(only.length > 0 ? { only } : {}),
    }, (result) => { if (!json) io.stdout.write(`${formatResult(result)}\n`); });
    if (json) io.stdout.write(`${JSON.stringify(report)}\n`);
    else io.stdout.write(`score ${report.score}/${report.max}\n`);
    return report.results.some((r) => r.verdict === 'fail') ? 1 : 0;
  },
};

/**
 * reachable: one connection first. Nobody listening is one line and exit 1 (as for request and
 * ping), not eleven FAIL lines that each say the same; a responder that accepts gets its checks.
 */
async function reachable(address: Address): Promise<void> {
  const { FastCGIClientConnection } = require('../../client/fastcgi-client') as typeof import('../../client/fastcgi-client');
  const { transportError } = require('./request') as typeof import('./request');
  try {
    (await FastCGIClientConnection.connect(address)).destroy();
  } catch (err) {
    throw await transportError(err, address, null);
  }
}

function parseTarget(target: string): Address {
  try {
    return parseAddress(target);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * requestParams: what nginx sends for GET PATH (php-fpm and dualcgi both answer it: SCRIPT_FILENAME
 * and PATH_INFO), with each --param NAME=VALUE set.
 */
function requestParams(path: string, docroot: string | undefined, overrides: Array<[string, string]>): Array<[string, string]> {
  return withParams(profileByName('nginx')!.params({
    method: 'GET', target: path, headers: [], bodyLength: null, mountPoint: '', ...(docroot !== undefined ? { documentRoot: docroot } : {}),
  }), overrides);
}
