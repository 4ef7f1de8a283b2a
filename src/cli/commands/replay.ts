import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fromCapturedRequest, toCurl, toEnvFile, toReplayFile } from '../../capture/export';
import { locateCapture, readCapture } from '../../capture/read';
import { captureNotes, cgiEnvironment, describeRequest, devtoolsUrl, inspectorUrl, replayRecords, selectRequest } from '../../capture/replay';
import { type CapturedRequest, extractRequests } from '../../capture/requests';
import { ClientError, isClientError } from '../../client/errors';
import { FastCGIClientConnection } from '../../client/fastcgi-client';
import { runCgiScript } from '../../client/launch';
import { createWireLog } from '../../client/wire-log';
import { type Address, parseAddress } from '../../net/address';
import { ProtocolStatus, RecordType, protocolStatusName } from '../../protocol';
import { parseArgs, secondsMs, stringFlag } from '../args';
import type { Command, CommandIo } from '../command';
import { CliError, UsageError } from '../errors';
import { report, transportError } from './request';

const flags = {
  dir: { type: 'string' },
  'as-cgi': { type: 'boolean' },
  inspect: { type: 'boolean' },
  list: { type: 'boolean' },
  export: { type: 'string' },
  verbose: { short: 'v', type: 'boolean' },
  raw: { type: 'boolean' },
  fail: { type: 'boolean' },
  http: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

/** Options: the parsed command line besides the capture. */
interface Options {
  fail: boolean;
  http: boolean;
  verbose: boolean;
  raw: boolean;
  inspect: boolean;
  timeoutMs: number;
}

/** replay: resend a captured request to a FastCGI server, or run it as one CGI hit of an entry script. */
export const replay: Command = {
  summary: 'resend a captured request (to FastCGI, as a CGI run, or under the inspector)',
  usage: 'dualcgi replay FILE|ID[#N] TARGET [--as-cgi] [--inspect] [-v] [--raw] [--fail] [--http] [--timeout S]\n' +
    '       dualcgi replay FILE|ID[#N] --list | --export curl|env|replay\n' +
    '  FILE|ID: a capture file (tap/serve --capture, or a dashboard export), or its id in --dir\n' +
    '    (default $DUALCGI_CAPTURE_DIR, else .); #N picks the Nth request of that connection\n' +
    '  TARGET: unix:/path.sock or HOST:PORT (the records are resent as captured), or an entry script:\n' +
    '    --as-cgi (or a .cgi name) runs it once as CGI: params as environment, STDIN as stdin\n' +
    '  --inspect: the CGI run under the Node inspector, stopped before the first line; the ws:// URL is\n' +
    '    printed on stderr, the request runs when a debugger attaches (chrome://inspect, node inspect URL)\n' +
    '  exit status: as dualcgi request: 0 a response arrived, 1 none (or --fail and status >= 400), 2 usage',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    const [source, target, ...extra] = args.positionals;
    if (source === undefined || extra.length > 0) throw new UsageError('expected FILE|ID and TARGET');
    const ref = locateCapture(source, stringFlag(args, 'dir') ?? process.env['DUALCGI_CAPTURE_DIR'] ?? '.');
    const capture = readCapture(ref.path);
    for (const n of captureNotes(capture)) io.stderr.write(`dualcgi replay: note: ${n}\n`);
    const requests = extractRequests(capture);
    if (args.flags['list'] === true) {
      if (requests.length === 0) io.stderr.write(`dualcgi replay: note: ${ref.path} holds no BEGIN_REQUEST\n`);
      for (const r of requests) io.stdout.write(`${describeRequest(r)}\n`);
      return 0;
    }
    const { request, note } = selectRequest(requests, ref.path, ref.index);
    if (note) io.stderr.write(`dualcgi replay: ${note}\n`);
    const exportAs = stringFlag(args, 'export');
    if (exportAs !== undefined) return exportRequest(request, exportAs, io);
    if (target === undefined) throw new UsageError('expected a TARGET to replay to (or --list / --export)');
    const options = parseOptions(args.flags, secondsMs(args, 'timeout', '40', 'none'));
    const asCgi = options.inspect || args.flags['as-cgi'] === true || (isScript(target) && target.endsWith('.cgi'));
    if (asCgi) return replayAsCgi(request, target, options, io);
    return replayFastCGI(request, parseTarget(target), options, io);
  },
};

function parseOptions(values: Record<string, unknown>, timeoutMs: number): Options {
  return {
    fail: values['fail'] === true, http: values['http'] === true, verbose: values['verbose'] === true,
    raw: values['raw'] === true, inspect: values['inspect'] === true, timeoutMs,
  };
}

function isScript(target: string): boolean {
  return !target.startsWith('unix:') && existsSync(target);
}

function parseTarget(target: string): Address {
  if (isScript(target)) throw new UsageError(`${target} is a script: replay to it with --as-cgi (or give a FastCGI address)`);
  try {
    return parseAddress(target);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** exportRequest: print the request as a curl command, a CGI env file, or a replay file. */
function exportRequest(request: CapturedRequest, as: string, io: CommandIo): number {
  const req = fromCapturedRequest(request);
  if (as === 'curl') io.stdout.write(toCurl(req));
  else if (as === 'env') io.stdout.write(toEnvFile(req));
  else if (as === 'replay') io.stdout.write(toReplayFile(req, { from: 'replay --export' }));
  else throw new UsageError(`--export must be curl, env or replay, not ${JSON.stringify(as)}`);
  return 0;
}

/** replayFastCGI: the captured records, byte for byte but for padding values, on a new connection. */
async function replayFastCGI(request: CapturedRequest, address: Address, options: Options, io: CommandIo): Promise<number> {
  const { records, notes } = replayRecords(request);
  for (const n of notes) io.stderr.write(`dualcgi replay: note: ${n}\n`);
  const wire = options.verbose || options.raw
    ? createWireLog((text) => io.stderr.write(text), { decode: options.verbose, raw: options.raw }) : undefined;
  let conn: FastCGIClientConnection | undefined;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    conn = await FastCGIClientConnection.connect(address, wire ? { onWire: wire } : {});
    const c = conn;
    if (options.timeoutMs > 0) timer = setTimeout(() => { timedOut = true; c.destroy(); }, options.timeoutMs);
    const response = await conn.request({
      params: [], requestId: request.requestId, rawRecords: records,
      onRecord: (record) => { if (record.type === RecordType.Stderr && !options.verbose) io.stderr.write(record.content); },
    });
    if (response.protocolStatus !== ProtocolStatus.RequestComplete) {
      throw new CliError('CLI_ERR_REFUSED', `the FastCGI server refused the request: ${protocolStatusName(response.protocolStatus)}`);
    }
    return await report(response.stdout, options, io);
  } catch (err) {
    if (timedOut) throw new CliError('CLI_ERR_TIMEOUT', `no complete response within ${options.timeoutMs / 1000} s (raise --timeout)`);
    throw isClientError(err) ? await transportError(err, address, null) : err;
  } finally {
    clearTimeout(timer);
    conn?.destroy();
  }
}

/**
 * replayAsCgi: one CGI run of the entry script with the captured params as its environment and the
 * captured body on stdin: fresh code, the exact request. With --inspect the script starts under
 * `--inspect-brk` on a free port and waits for a debugger; the URL goes to stderr at once.
 */
async function replayAsCgi(request: CapturedRequest, script: string, options: Options, io: CommandIo): Promise<number> {
  if (!isScript(script)) throw new UsageError(`--as-cgi needs an entry script, not ${JSON.stringify(script)}`);
  const env = cgiEnvironment(request);
  if (options.inspect) env.push(['NODE_OPTIONS', `${process.env['NODE_OPTIONS'] ?? ''} --inspect-brk=127.0.0.1:0`.trim()]);
  let seen = '';
  let announced = false;
  const onStderr = (chunk: Buffer): void => {
    if (!options.inspect || announced) return;
    seen += chunk.toString('utf8');
    const url = inspectorUrl(seen);
    if (url === null) return;
    announced = true;
    io.stderr.write(`dualcgi replay: the script waits for a debugger at ${url}\n` +
      `  open chrome://inspect (or ${devtoolsUrl(url)}), or run: node inspect ${url}\n`);
  };
  const result = await runCgiScript(resolve(script), {
    env, stdin: request.stdin, onStderr, ...(options.timeoutMs > 0 && !options.inspect ? { timeoutMs: options.timeoutMs } : {}),
  }).catch((err: unknown) => {
    throw err instanceof ClientError ? new CliError(err.code, err.message) : err;
  });
  if (result.stderr.length > 0) io.stderr.write(result.stderr);
  if (result.timedOut) throw new CliError('CLI_ERR_TIMEOUT', `the script ran past ${options.timeoutMs / 1000} s (raise --timeout)`);
  if (result.exitCode !== 0 || result.signal !== null) {
    const how = result.signal !== null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    io.stderr.write(`dualcgi replay: note: ${script} ${how}\n`);
  }
  return report(result.stdout, options, io);
}
