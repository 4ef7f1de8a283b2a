import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { formatHttpLike, parseCgiResponse } from '../../client/cgi-response';
import { ClientError, errnoCode, isClientError } from '../../client/errors';
import { FastCGIClientConnection, type FastCGIResponse } from '../../client/fastcgi-client';
import { type ParamsFraming, frameParams } from '../../client/framing';
import { type LaunchedFastCGI, launchFastCGIScript, runCgiScript } from '../../client/launch';
import { type HeaderPair, buildCgiParams, scriptUrlName, withParams } from '../../client/params';
import { PROFILE_NAMES, type ProfileRequest, type RequestProfile, profileByName, profileRefusal } from '../../client/profiles';
import { createWireLog } from '../../client/wire-log';
import { type Address, formatAddress, parseAddress } from '../../net/address';
import { ProtocolStatus, RecordType, protocolStatusName } from '../../protocol';
import { listFlag, nameValues, parseArgs, secondsMs, stringFlag } from '../args';
import type { Command, CommandIo } from '../command';
import { CliError, UsageError } from '../errors';

const flags = {
  method: { short: 'X', type: 'string' },
  header: { short: 'H', type: 'string', repeat: true },
  param: { type: 'string', repeat: true },
  data: { short: 'd', type: 'string' },
  'data-file': { type: 'string' },
  cgi: { type: 'boolean' },
  fcgi: { type: 'boolean' },
  mount: { type: 'string' },
  docroot: { type: 'string' },
  fail: { type: 'boolean' },
  http: { type: 'boolean' },
  timeout: { type: 'string' },
  profile: { type: 'string' },
  verbose: { short: 'v', type: 'boolean' },
  raw: { type: 'boolean' },
  'split-pairs': { type: 'boolean' },
  bytewise: { type: 'boolean' },
} as const;

/** Target: where the request goes: a FastCGI server's address, or a script launched as a web server would. */
type Target =
  | { kind: 'address'; address: Address }
  | { kind: 'script'; path: string; mode: 'cgi' | 'fcgi' };

/** Body: a request body given inline (-d) or streamed from a file (--data-file). */
type Body = { kind: 'none' } | { kind: 'data'; data: Buffer } | { kind: 'file'; path: string; size: number };

/** Plan: the parsed command line. */
interface Plan {
  target: Target;
  method: string;
  headers: HeaderPair[];
  /** params: --param NAME=VALUE, set over what the web server would send. */
  params: Array<[string, string]>;
  body: Body;
  mount: string;
  /** docroot: DOCUMENT_ROOT (and the folder of SCRIPT_FILENAME under nginx): php-fpm finds scripts by it. */
  docroot: string | null;
  path: string;
  fail: boolean;
  http: boolean;
  timeoutMs: number;
  /** profile: the web server imitated (--profile), null for dualcgi's own Apache-like default. */
  profile: RequestProfile | null;
  /** framing: --split-pairs / --bytewise, which win over the profile's framing. */
  framing: 'split-pairs' | 'bytewise' | null;
  verbose: boolean;
  raw: boolean;
}

/** request: speak FastCGI or CGI to a server or a script, print the response exactly as a web server got it. */
export const request: Command = {
  summary: 'send one request over FastCGI or CGI and print the raw response',
  usage: 'dualcgi request TARGET [-X METHOD] [-H "Name: value"]... [-d BODY | --data-file FILE] ' +
    '[--param NAME=VALUE]... [--cgi | --fcgi] [--mount /app] [--docroot DIR] [--fail] [--http] [--timeout SECONDS (default 40, 0 = none)] ' +
    `[--profile ${PROFILE_NAMES.join('|')}] [-v] [--raw] [--split-pairs | --bytewise] PATH\n` +
    '  TARGET: unix:/path.sock, HOST:PORT, or an executable script (dispatch.fcgi / dispatch.cgi)\n' +
    '  --param: set or replace one CGI variable (HTTPS=on, REMOTE_USER=bob); to a CGI script, one environment variable\n' +
    '  --mount /app: the folder of the .htaccess in URL space; PATH is below it (--mount /app /foo asks for /app/foo)\n' +
    '  --profile: send the request as that web server does (request id, KEEP_CONN, PARAMS framing,\n' +
    '    its limits, which variables and headers it sets or drops)\n' +
    '  -v: every FastCGI record both ways, decoded, on stderr; --raw: every byte both ways as hex, on stderr\n' +
    '  --split-pairs: every PARAMS record boundary inside a name-value pair; --bytewise: one byte per\n' +
    '    PARAMS and STDIN record (both spec-legal)\n' +
    '  exit status: 0 a response arrived (any HTTP status); 1 no usable response (cannot connect,\n' +
    '    closed early, broken off after its head, timeout, refused, malformed head, a limit of the --profile server), or with\n' +
    '    --fail an HTTP status of 400 or more; 2 usage error',
  async run(argv, io) {
    const plan = parsePlan(argv);
    let stdout: Buffer;
    try {
      stdout = await send(plan, io);
    } catch (err) {
      if (!(err instanceof BrokenResponse)) throw err;
      // What arrived is shown as it came, then why it is not a response a web server passes on.
      await write(io.stdout, err.partial);
      throw new CliError('CLI_ERR_BROKEN', err.message);
    }
    return report(stdout, plan, io);
  },
};

/**
 * BrokenResponse: the connection closed before END_REQUEST after part of a response: how a FastCGI
 * app says its response failed after the head (nginx then cuts its client; README "Faults").
 */
class BrokenResponse extends Error {
  constructor(readonly partial: Buffer, message: string) {
    super(message);
  }
}

/** parsePlan: argv to a Plan; every mistake a user can make in the arguments is a UsageError. */
function parsePlan(argv: string[]): Plan {
  const args = parseArgs(argv, flags);
  if (args.positionals.length !== 2) throw new UsageError('expected TARGET and PATH');
  const [targetArg, path] = args.positionals as [string, string];
  if (!path.startsWith('/')) throw new UsageError(`PATH must start with '/', got ${JSON.stringify(path)}`);
  const mount = stringFlag(args, 'mount') ?? '';
  if (mount !== '' && !mount.startsWith('/')) throw new UsageError(`--mount must start with '/', got ${JSON.stringify(mount)}`);
  const body = parseBody(stringFlag(args, 'data'), stringFlag(args, 'data-file'));
  const headers = listFlag(args, 'header').map(parseHeader);
  if (body.kind !== 'none' && !headers.some(([name]) => name.toLowerCase() === 'content-type')) {
    headers.push(['Content-Type', 'application/x-www-form-urlencoded']); // what curl -d sends
  }
  const timeoutMs = secondsMs(args, 'timeout', '40', 'none');
  const target = parseTarget(targetArg, args.flags['cgi'] === true, args.flags['fcgi'] === true);
  return {
    target,
    method: stringFlag(args, 'method') ?? (body.kind === 'none' ? 'GET' : 'POST'),
    headers,
    params: nameValues(args, 'param'),
    body,
    mount: mount.endsWith('/') ? mount.slice(0, -1) : mount,
    docroot: stringFlag(args, 'docroot') ?? null,
    path,
    fail: args.flags['fail'] === true,
    http: args.flags['http'] === true,
    // 0 means no limit; so does anything beyond what a timer can hold (about 24 days).
    timeoutMs: timeoutMs > 0x7fffffff ? 0 : timeoutMs, // past setTimeout's range: none
    ...wireFlags(args.flags, target),
  };
}

/** wireFlags: --profile, -v, --raw, --split-pairs, --bytewise; all but --profile need FastCGI. */
function wireFlags(flagValues: Record<string, unknown>, target: Target): Pick<Plan, 'profile' | 'framing' | 'verbose' | 'raw'> {
  const name = flagValues['profile'];
  const profile = typeof name === 'string' ? profileByName(name) ?? null : null;
  if (typeof name === 'string' && profile === null) {
    throw new UsageError(`--profile must be one of ${PROFILE_NAMES.join(', ')}, not ${JSON.stringify(name)}`);
  }
  const split = flagValues['split-pairs'] === true;
  const bytewise = flagValues['bytewise'] === true;
  if (split && bytewise) throw new UsageError('give --split-pairs or --bytewise, not both');
  const plan = { profile, framing: split ? 'split-pairs' as const : bytewise ? 'bytewise' as const : null,
    verbose: flagValues['verbose'] === true, raw: flagValues['raw'] === true };
  if (target.kind === 'script' && target.mode === 'cgi' && (plan.framing !== null || plan.verbose || plan.raw)) {
    throw new UsageError('-v, --raw, --split-pairs and --bytewise show or shape FastCGI records; a CGI script gets none');
  }
  return plan;
}

/** parseHeader: curl's `-H 'Name: value'`. */
function parseHeader(raw: string): HeaderPair {
  const colon = raw.indexOf(':');
  const name = colon === -1 ? '' : raw.slice(0, colon).trim();
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new UsageError(`-H expects "Name: value", got ${JSON.stringify(raw)}`);
  }
  return [name, raw.slice(colon + 1).trim()];
}

function parseBody(data: string | undefined, file: string | undefined): Body {
  if (data !== undefined && file !== undefined) throw new UsageError('give -d or --data-file, not both');
  if (data !== undefined) return { kind: 'data', data: Buffer.from(data, 'utf8') };
  if (file === undefined) return { kind: 'none' };
  try {
    return { kind: 'file', path: file, size: statSync(file).size };
  } catch (err) {
    throw new CliError('CLI_ERR_DATA_FILE', `cannot read --data-file ${file}: ${errnoCode(err) ?? (err as Error).message}`);
  }
}

/**
 * parseTarget: an address (`unix:/p`, `HOST:PORT`, `:PORT`) or a script. An existing file wins over
 * an address-looking name; the mode comes from --cgi/--fcgi, else from the name (.cgi / .fcgi).
 */
function parseTarget(target: string, cgi: boolean, fcgi: boolean): Target {
  if (cgi && fcgi) throw new UsageError('give --cgi or --fcgi, not both');
  const isFile = existsSync(target);
  if (target.startsWith('unix:') || (!isFile && /^(\[[^\]]*\]|[^/:]*):\d+$/.test(target))) {
    if (cgi) throw new UsageError('--cgi needs a script path: an address can only speak FastCGI');
    try {
      return { kind: 'address', address: parseAddress(target) };
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (!isFile) {
    throw new CliError('CLI_ERR_NO_TARGET', `no such script: ${target} (TARGET is unix:/path.sock, HOST:PORT or a script path)`);
  }
  const mode = cgi ? 'cgi' : fcgi ? 'fcgi' : target.endsWith('.cgi') ? 'cgi' : target.endsWith('.fcgi') ? 'fcgi' : null;
  if (mode === null) {
    throw new UsageError(`cannot tell whether ${target} is CGI or FastCGI: name it .cgi or .fcgi, or add --cgi or --fcgi`);
  }
  return { kind: 'script', path: resolve(target), mode };
}

/** paramsFor: the params Apache would send; a script's own name and folder give SCRIPT_NAME and the docroot. */
function paramsFor(plan: Plan): Array<[string, string]> {
  const { target, body } = plan;
  const script = target.kind === 'script' ? target.path : null;
  const folder = script === null ? null : dirname(script);
  const documentRoot = plan.docroot ?? (folder !== null && plan.mount !== '' && folder.endsWith(plan.mount)
    ? folder.slice(0, folder.length - plan.mount.length) || '/'
    : folder);
  if (plan.profile) return withParams(plan.profile.params(profileRequest(plan, script, documentRoot)), plan.params);
  return withParams(buildCgiParams({
    method: plan.method,
    target: plan.path,
    headers: plan.headers,
    mode: target.kind === 'script' ? target.mode : 'fcgi',
    mountPoint: plan.mount,
    ...(body.kind === 'data' ? { bodyLength: body.data.length } : body.kind === 'file' ? { bodyLength: body.size } : {}),
    ...(script !== null ? { scriptName: scriptUrlName(script), scriptFilename: script } : {}),
    ...(documentRoot !== null ? { documentRoot } : {}),
  }), plan.params);
}

/** profileRequest: the HTTP request of the plan, as a --profile turns it into params. */
function profileRequest(plan: Plan, script: string | null, documentRoot: string | null): ProfileRequest {
  const { body } = plan;
  return {
    method: plan.method, target: plan.path, headers: plan.headers, mountPoint: plan.mount,
    bodyLength: body.kind === 'data' ? body.data.length : body.kind === 'file' ? body.size : null,
    ...(script !== null ? { scriptName: scriptUrlName(script), scriptFilename: script } : {}),
    ...(documentRoot !== null ? { documentRoot } : {}),
  };
}

/** bodySource: the body to send; a profile that buffers bodies reads the whole file first, as the server does. */
function bodySource(body: Body, buffered = false): Buffer | Readable | undefined {
  if (body.kind === 'file' && buffered) return readFileSync(body.path);
  if (body.kind === 'data') return body.data;
  if (body.kind === 'file') return createReadStream(body.path);
  return undefined;
}

/** send: deliver the request to the target; resolves with the response bytes as the web server got them. */
async function send(plan: Plan, io: CommandIo): Promise<Buffer> {
  const params = paramsFor(plan);
  const { target, profile } = plan;
  if (profile) {
    const refusal = profileRefusal(profile, profileRequest(plan, null, null), params);
    if (refusal) {
      throw new CliError('CLI_ERR_PROFILE_LIMIT', `${profile.name} would answer ${refusal.status} and not pass the request on: ${refusal.why}`);
    }
  }
  if (target.kind === 'address') return sendFastCGI(target.address, params, plan, io, null);
  if (target.mode === 'cgi') return sendCgi(target.path, params, plan, io);
  const launched = await launchFastCGIScript(target.path).catch((err: unknown) => { throw scriptError(err); });
  // After the request, what the script writes is held until it exits: the lines a dualcgi script
  // writes when request's own SIGTERM stops it cleanly are not news, and looked like a failure.
  let held: string | null = null;
  const stderr = launched.child.stderr;
  stderr?.on('data', (chunk: Buffer) => {
    if (held === null) io.stderr.write(chunk);
    else held += chunk.toString('utf8');
  });
  try {
    return await sendFastCGI(launched.address, params, plan, io, { script: target.path, launched });
  } finally {
    held = '';
    await launched.stop();
    if (stderr && !stderr.readableEnded) await new Promise((done) => { stderr.once('close', done); setTimeout(done, 500).unref(); });
    const rest = held.replace(CLEAN_STOP_LINES, '');
    if (rest !== '') io.stderr.write(rest);
  }
}

/** CLEAN_STOP_LINES: a dualcgi FastCGI process's lines on a SIGTERM it drained without trouble (launch/supervisor). */
const CLEAN_STOP_LINES = /^dualcgi\[\d+\]: SIGTERM: (stopped accepting; 0 request\(s\) in flight .*|drained, exit 0)\n/gm;

/** LaunchContext: the script behind a launched FastCGI address, to explain its failures. */
export interface LaunchContext {
  script: string;
  launched: LaunchedFastCGI;
}

/** sendFastCGI: one request on a new connection; FCGI_STDERR goes to io.stderr as it arrives. */
async function sendFastCGI(address: Address, params: Array<[string, string]>, plan: Plan, io: CommandIo,
  launch: LaunchContext | null): Promise<Buffer> {
  let response: FastCGIResponse;
  const received: Buffer[] = [];
  try {
    const wire = plan.verbose || plan.raw
      ? createWireLog((text) => io.stderr.write(text), { decode: plan.verbose, raw: plan.raw }) : undefined;
    const conn = await FastCGIClientConnection.connect(address, wire ? { onWire: wire } : {});
    let timedOut = false;
    const timer = plan.timeoutMs === 0 ? undefined : setTimeout(() => {
      timedOut = true;
      conn.destroy();
    }, plan.timeoutMs);
    try {
      response = await conn.request({
        params,
        ...framingOptions(plan, params),
        body: bodySource(plan.body, plan.profile?.bufferBody),
        onRecord: (record) => {
          // With -v the record line shows STDERR already.
          if (record.type === RecordType.Stderr && !plan.verbose) io.stderr.write(record.content);
          else if (record.type === RecordType.Stdout) received.push(Buffer.from(record.content));
        },
      });
    } catch (err) {
      if (timedOut) throw timeoutError(plan);
      const partial = Buffer.concat(received);
      if (isClientError(err, 'CLIENT_ERR_CLOSED') && partial.length > 0) {
        throw new BrokenResponse(partial, `the response was broken off: the connection closed after ${partial.length} bytes, ` +
          'before END_REQUEST (the app failed after its head; a web server cuts its client here, or answers 500 if it buffered)');
      }
      throw err;
    } finally {
      clearTimeout(timer);
      conn.destroy();
    }
  } catch (err) {
    throw await transportError(err, address, launch);
  }
  if (response.protocolStatus !== ProtocolStatus.RequestComplete) {
    throw new CliError('CLI_ERR_REFUSED', `the FastCGI server refused the request: ${protocolStatusName(response.protocolStatus)}`);
  }
  if (response.appStatus !== 0) io.stderr.write(`dualcgi request: note: app status ${response.appStatus}\n`);
  return response.stdout;
}

/** framingOptions: request id, KEEP_CONN and record framing from the profile and the framing flags. */
function framingOptions(plan: Plan, params: Array<[string, string]>): { requestId?: number; keepConn?: boolean;
  paramsChunks?: Buffer[]; stdinRecordSize?: number } {
  const framing: ParamsFraming | undefined = plan.framing !== null ? { kind: plan.framing } : plan.profile?.framing;
  return {
    ...(plan.profile ? { requestId: plan.profile.requestId, keepConn: plan.profile.keepConn } : {}),
    ...(framing ? { paramsChunks: frameParams(params, framing) } : {}),
    ...(plan.framing === 'bytewise' ? { stdinRecordSize: 1 } : {}),
  };
}

/** sendCgi: one CGI hit; the script's stderr goes to io.stderr (Apache's error log). */
async function sendCgi(script: string, params: Array<[string, string]>, plan: Plan, io: CommandIo): Promise<Buffer> {
  const result = await runCgiScript(script, { env: params, stdin: bodySource(plan.body), ...(plan.timeoutMs > 0 ? { timeoutMs: plan.timeoutMs } : {}) })
    .catch((err: unknown) => { throw scriptError(err); });
  if (result.stderr.length > 0) io.stderr.write(result.stderr);
  if (result.timedOut) throw timeoutError(plan);
  if (result.exitCode !== 0 || result.signal !== null) {
    const how = result.signal !== null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    io.stderr.write(`dualcgi request: note: ${basename(script)} ${how}\n`);
  }
  return result.stdout;
}

function timeoutError(plan: Plan): CliError {
  return new CliError('CLI_ERR_TIMEOUT', `no complete response within ${plan.timeoutMs / 1000} s (raise --timeout)`);
}

/** scriptError: a script that cannot be started, with the fix Apache's log would not tell. */
function scriptError(err: unknown): unknown {
  if (isClientError(err, 'CLIENT_ERR_NOT_EXECUTABLE') || isClientError(err, 'CLIENT_ERR_SPAWN')) {
    return new CliError(err.code, err.message);
  }
  return err;
}

/** transportError: a connection failure as one line, with the likely fix (replay uses it too). */
export async function transportError(err: unknown, address: Address, launch: LaunchContext | null): Promise<unknown> {
  if (!(err instanceof ClientError)) return err;
  const shown = formatAddress(address);
  if (launch !== null) {
    const gone = await Promise.race([launch.launched.exited, delay(500).then(() => null)]);
    const name = basename(launch.script);
    const how = gone === null ? 'closed the connection without answering'
      : gone.signal !== null ? `was killed by ${gone.signal} before answering` : `exited with code ${gone.code} before answering`;
    return new CliError(err.code, `${name} ${how}: a FastCGI app must accept on the socket it gets as fd 0 ` +
      `(its stderr is above; if it is a CGI script, use --cgi)`);
  }
  const code = errnoCode(err.cause);
  if (err.code === 'CLIENT_ERR_CONNECT') {
    if (code === 'ECONNREFUSED') return new CliError(err.code, `connection refused: is the FastCGI server running on ${shown}?`);
    if (code === 'ENOENT') return new CliError(err.code, `no socket at ${shown}: is the FastCGI server running, and is the path right?`);
    if (code === 'EACCES') return new CliError(err.code, `permission denied on ${shown}: the socket's mode or a folder above it keeps you out`);
  }
  return new CliError(err.code, err.message);
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms).unref());
}

/** report: print the response as received (or HTTP-like with --http) and pick the exit code (replay uses it too). */
export async function report(stdout: Buffer, plan: { http: boolean; fail: boolean }, io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseCgiResponse(stdout);
  } catch (err) {
    await write(io.stdout, stdout); // what arrived is the best clue to what went wrong
    if (isClientError(err, 'CLIENT_ERR_BAD_HEAD')) {
      throw new CliError(err.code, `malformed response (a web server answers 500): ${err.message}`);
    }
    throw err;
  }
  await write(io.stdout, plan.http ? formatHttpLike(parsed) : stdout);
  return plan.fail && parsed.status >= 400 ? 1 : 0;
}

function write(stream: NodeJS.WritableStream, data: Buffer): Promise<void> {
  if (data.length === 0) return Promise.resolve();
  return new Promise((done) => stream.write(data, () => done()));
}
