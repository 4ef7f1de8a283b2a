import { parseCgiResponse } from '../client/cgi-response';
import {
  FCGI_HEADER_LEN, FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS, ProtocolStatus, RecordType, decodePairs,
  decodeUnknownTypeBody, encodeGetValues, encodeHeader, encodeRecord, protocolStatusName,
} from '../protocol';
import { type EndOutcome, type Probe, type RequestShape, requestRecords } from './probe';

/** Verdict: pass scores 1, warn 0.5 (works, but not as the spec asks), fail 0. */
export type Verdict = 'pass' | 'warn' | 'fail';

/** Finding: what one check concluded, in one line. */
export interface Finding {
  verdict: Verdict;
  detail: string;
}

/** LintFacts: what earlier checks learned, for later ones to compare with. */
export interface LintFacts {
  /** baselineStatus: the HTTP status of the plain request, to compare unusual framings against. */
  baselineStatus?: number;
  /** stableStdout: the plain request's STDOUT when two of them came back identical, else undefined. */
  stableStdout?: Buffer;
  /** mpxsConns: FCGI_MPXS_CONNS as answered to GET_VALUES. */
  mpxsConns?: string;
  /** answered: some check could connect (so a later refusal means it went away). */
  answered?: boolean;
}

/** LintContext: the request to send, how long to wait, a way to connect, and the shared facts. */
export interface LintContext {
  params: Array<[string, string]>;
  timeoutMs: number;
  /** open: a new connection; the runner closes every probe a check opened when the check ends. */
  open(): Promise<Probe>;
  facts: LintFacts;
}

/** Check: one spec behaviour. */
export interface Check {
  name: string;
  run(ctx: LintContext): Promise<Finding>;
}

const pass = (detail: string): Finding => ({ verdict: 'pass', detail });
const warn = (detail: string): Finding => ({ verdict: 'warn', detail });
const fail = (detail: string): Finding => ({ verdict: 'fail', detail });

/** statusOf: the HTTP status of a CGI response on STDOUT, null when it has no valid head. */
export function statusOf(stdout: Buffer): number | null {
  try {
    return parseCgiResponse(stdout).status;
  } catch {
    return null;
  }
}

/** describe: an outcome in words. */
export function describe(o: EndOutcome, timeoutMs: number): string {
  if (o.kind === 'timeout') return `no END_REQUEST within ${timeoutMs} ms`;
  if (o.kind === 'closed') return `the connection closed before END_REQUEST (${o.why})`;
  const status = statusOf(o.stdout);
  return `${status === null ? 'no CGI head on STDOUT' : `status ${status}`}, ${protocolStatusName(o.protocolStatus)}`;
}

function completed(o: EndOutcome): o is Extract<EndOutcome, { kind: 'end' }> {
  return o.kind === 'end' && o.protocolStatus === ProtocolStatus.RequestComplete;
}

/** exchange: one request on a new connection; resolves with its outcome and the probe. */
async function exchange(ctx: LintContext, shape: RequestShape = {}, params = ctx.params,
  timeoutMs = ctx.timeoutMs): Promise<{ o: EndOutcome; probe: Probe }> {
  const probe = await ctx.open();
  probe.send(...requestRecords(1, params, shape));
  return { o: await probe.endOf(1, timeoutMs), probe };
}

/** withParams: the lint request's params with some replaced or added. */
function withParams(ctx: LintContext, extra: Array<[string, string]>): Array<[string, string]> {
  const names = new Set(extra.map(([n]) => n));
  return [...ctx.params.filter(([n]) => !names.has(n)), ...extra];
}

const request: Check = {
  name: 'request',
  async run(ctx) {
    const { o, probe } = await exchange(ctx);
    if (o.kind !== 'end') return fail(`${describe(o, ctx.timeoutMs)} (can it answer --path with these --param values?)`);
    const status = statusOf(o.stdout);
    if (!completed(o) || status === null) return fail(describe(o, ctx.timeoutMs));
    ctx.facts.baselineStatus = status;
    const closed = await probe.waitClosed(1000);
    const again = await exchange(ctx);
    if (again.o.kind === 'end' && again.o.stdout.equals(o.stdout)) ctx.facts.stableStdout = o.stdout;
    const base = `status ${status}, ${o.stdout.length} bytes of STDOUT`;
    return closed ? pass(`${base}; closed the connection (KEEP_CONN 0)`)
      : warn(`${base}, but the connection stayed open although KEEP_CONN was 0 (spec 5.1: the application closes it)`);
  },
};

const getValues: Check = {
  name: 'get-values',
  async run(ctx) {
    const probe = await ctx.open();
    const names = [FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS];
    probe.send(encodeGetValues(names));
    const r = await probe.waitFor((rec) => rec.type === RecordType.GetValuesResult, ctx.timeoutMs);
    if (r === 'timeout') return fail(`no GET_VALUES_RESULT within ${ctx.timeoutMs} ms`);
    if (r === 'closed') return fail(`closed the connection instead of answering (${probe.closeReason})`);
    const values = decodePairs(r.content);
    ctx.facts.mpxsConns = values.find(([n]) => n === FCGI_MPXS_CONNS)?.[1];
    const shown = values.map(([n, v]) => `${n}=${v}`).join(' ') || '(no values)';
    return values.length === names.length ? pass(shown) : warn(`${shown}: answers ${values.length} of the ${names.length} variables`);
  },
};

/**
 * sameAsPlain: the request framed unusually must get the plain request's answer: the very same
 * STDOUT when plain requests answer identically (a misdecoded param then shows), else the same status.
 */
function sameAsPlain(name: string, label: string, shape: RequestShape): Check {
  return {
    name,
    async run(ctx) {
      const { o } = await exchange(ctx, shape);
      if (!completed(o)) return fail(`${label}: ${describe(o, ctx.timeoutMs)}`);
      const status = statusOf(o.stdout);
      const { baselineStatus: baseline, stableStdout: stable } = ctx.facts;
      if (baseline === undefined) return warn(`${label}: status ${status}; nothing to compare with (the plain request failed)`);
      if (status !== baseline) return fail(`${label}: status ${status}, but ${baseline} with plain framing: the params decode differently`);
      if (stable === undefined) return pass(`${label}: status ${status}, as with plain framing (answers vary, so only the status is compared)`);
      if (stable.equals(o.stdout)) return pass(`${label}: the same response as with plain framing`);
      return fail(`${label}: status ${status}, but the response differs from the plain one: the params decode differently`);
    },
  };
}

const splitPairs = sameAsPlain('split-pairs', 'every PARAMS record boundary inside a name-value pair', { framing: { kind: 'split-pairs' } });
const padding = sameAsPlain('padding', 'every record padded with 255 bytes', { padding: 255 });

const largeStreams: Check = {
  name: 'large-streams',
  async run(ctx) {
    const body = pseudoRandom(1024 * 1024, 7);
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < 100; i++) headers.push([`HTTP_X_LINT_${i}`, 'x'.repeat(1000)]);
    const params = withParams(ctx, [['REQUEST_METHOD', 'POST'], ['CONTENT_TYPE', 'application/octet-stream'],
      ['CONTENT_LENGTH', String(body.length)], ...headers]);
    const shape: RequestShape = { framing: { kind: 'pair-boundaries', maxContent: 0xffff }, stdin: body, stdinRecordSize: 0xffff };
    const { o } = await exchange(ctx, shape, params, ctx.timeoutMs * 3);
    const what = '100 KB of params over 2 records, 1 MiB of STDIN in 65535-byte records';
    if (!completed(o)) return fail(`${what}: ${describe(o, ctx.timeoutMs * 3)}`);
    const status = statusOf(o.stdout);
    return status === null ? warn(`${what}: completed, but STDOUT has no CGI head`) : pass(`${what}: status ${status}`);
  },
};

const unknownType: Check = {
  name: 'unknown-type',
  async run(ctx) {
    const probe = await ctx.open();
    probe.send(encodeRecord(99, 0, Buffer.alloc(8)));
    const r = await probe.waitFor((rec) => rec.type === RecordType.UnknownType, ctx.timeoutMs);
    if (r === 'closed') return fail(`closed the connection (${probe.closeReason}) instead of answering FCGI_UNKNOWN_TYPE`);
    const from = probe.records.length;
    probe.send(...requestRecords(1, ctx.params));
    const after = await probe.endOf(1, ctx.timeoutMs, from);
    const still = completed(after) ? '; the connection still serves requests' : `; then the request on it: ${describe(after, ctx.timeoutMs)}`;
    if (r === 'timeout' && !completed(after)) return fail(`no FCGI_UNKNOWN_TYPE within ${ctx.timeoutMs} ms${still}`);
    if (r === 'timeout') return warn(`ignored it: no FCGI_UNKNOWN_TYPE within ${ctx.timeoutMs} ms (spec 4.2)${still}`);
    const type = r.content.length === 8 ? decodeUnknownTypeBody(r.content) : -1;
    if (type !== 99) return warn(`FCGI_UNKNOWN_TYPE names type ${type}, not 99${still}`);
    return completed(after) ? pass(`FCGI_UNKNOWN_TYPE(99)${still}`) : warn(`FCGI_UNKNOWN_TYPE(99)${still}`);
  },
};

const unknownRole: Check = {
  name: 'unknown-role',
  async run(ctx) {
    const { o } = await exchange(ctx, { role: 99 });
    if (o.kind !== 'end') return fail(`role 99: ${describe(o, ctx.timeoutMs)} (spec 5.1 asks for END_REQUEST(UNKNOWN_ROLE))`);
    if (o.protocolStatus === ProtocolStatus.UnknownRole) return pass('role 99: END_REQUEST(UNKNOWN_ROLE)');
    if (completed(o) && o.stdout.length > 0) return fail(`role 99: ran it as a request (${describe(o, ctx.timeoutMs)})`);
    return warn(`role 99: END_REQUEST(${protocolStatusName(o.protocolStatus)}) instead of UNKNOWN_ROLE`);
  },
};

const abort: Check = {
  name: 'abort',
  async run(ctx) {
    const params = withParams(ctx, [['REQUEST_METHOD', 'POST'], ['CONTENT_TYPE', 'application/octet-stream'], ['CONTENT_LENGTH', '1000']]);
    const probe = await ctx.open();
    probe.send(...requestRecords(1, params, { stdin: Buffer.alloc(10, 0x61), endStdin: false }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    probe.send(encodeRecord(RecordType.AbortRequest, 1));
    const o = await probe.endOf(1, ctx.timeoutMs);
    if (o.kind === 'end') return pass(`ABORT_REQUEST 10 bytes into a 1000-byte body: END_REQUEST after ${o.ms.toFixed(1)} ms`);
    if (o.kind === 'closed') return warn(`ABORT_REQUEST: closed the connection instead of END_REQUEST (spec 5.4; ${o.why})`);
    return fail(`ABORT_REQUEST ignored: no END_REQUEST within ${ctx.timeoutMs} ms (the request hangs until the web server gives up)`);
  },
};

const keepConn: Check = {
  name: 'keep-conn',
  async run(ctx) {
    const { o, probe } = await exchange(ctx, { keepConn: true });
    if (!completed(o)) return fail(`first request: ${describe(o, ctx.timeoutMs)}`);
    if (await probe.waitClosed(200)) return fail('closed the connection after the first request although KEEP_CONN was set');
    const from = probe.records.length;
    probe.send(...requestRecords(1, ctx.params, { keepConn: true }));
    const second = await probe.endOf(1, ctx.timeoutMs, from);
    if (!completed(second)) return fail(`second request on the kept connection: ${describe(second, ctx.timeoutMs)}`);
    return pass('two requests on one connection, request id 1 reused (as nginx does)');
  },
};

const multiplexing: Check = {
  name: 'multiplexing',
  async run(ctx) {
    const probe = await ctx.open();
    const one = requestRecords(1, ctx.params, { keepConn: true });
    const two = requestRecords(2, ctx.params, { keepConn: true });
    for (let i = 0; i < Math.max(one.length, two.length); i++) probe.send(...[one[i], two[i]].filter((b): b is Buffer => b !== undefined));
    const [o1, o2] = await Promise.all([probe.endOf(1, ctx.timeoutMs), probe.endOf(2, ctx.timeoutMs)]);
    const said = ctx.facts.mpxsConns;
    if (completed(o1) && completed(o2)) {
      return said === '0' ? warn('both interleaved requests completed, but GET_VALUES said FCGI_MPXS_CONNS=0')
        : pass('two interleaved requests (ids 1 and 2) on one connection both completed');
    }
    const refused = (o: EndOutcome): boolean => o.kind === 'end' && o.protocolStatus === ProtocolStatus.CantMpxConn;
    if ((completed(o1) && refused(o2)) || (completed(o2) && refused(o1))) {
      return said === '1' ? warn('refused one with CANT_MPX_CONN, but GET_VALUES said FCGI_MPXS_CONNS=1')
        : pass('no multiplexing: completed one, refused the other with END_REQUEST(CANT_MPX_CONN)');
    }
    if (said === '0' && (completed(o1) || completed(o2))) {
      // Web servers that ask GET_VALUES first never multiplex here; the rest see a dropped request.
      return warn('completed one and dropped the other without END_REQUEST(CANT_MPX_CONN); it does say FCGI_MPXS_CONNS=0');
    }
    return fail(`request 1: ${describe(o1, ctx.timeoutMs)}; request 2: ${describe(o2, ctx.timeoutMs)}`);
  },
};

/** garbageCases: what a responder must survive; each is sent on its own connection. */
const garbageCases: Array<[string, Buffer]> = [
  ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
  ['random bytes', pseudoRandom(256, 42)],
  ['a record cut short', Buffer.concat([encodeHeader(RecordType.Stdin, 1, 0xffff), Buffer.alloc(100)])],
  ['a 3-byte BEGIN_REQUEST body', Buffer.concat([encodeHeader(RecordType.BeginRequest, 1, 3, 5), Buffer.alloc(FCGI_HEADER_LEN)])],
];

const garbage: Check = {
  name: 'garbage',
  async run(ctx) {
    const seen: string[] = [];
    for (const [label, bytes] of garbageCases) {
      const probe = await ctx.open();
      probe.send(bytes);
      const closed = await probe.waitClosed(300);
      probe.destroy();
      seen.push(`${label}: ${closed ? 'closed' : 'kept open'}`);
      const { o } = await exchange(ctx);
      if (!completed(o)) return fail(`after ${label}, a plain request: ${describe(o, ctx.timeoutMs)} (crashed or stuck?)`);
    }
    return pass(`still answers after each of: ${seen.join(', ')}`);
  },
};

/** CHECKS: in order; `request` and `get-values` first, as later checks compare with what they learned. */
export const CHECKS: readonly Check[] = [
  request, getValues, splitPairs, padding, largeStreams, unknownType, unknownRole, abort, keepConn, multiplexing, garbage,
];

/** pseudoRandom: deterministic bytes (xorshift), so a failing run can be repeated exactly. */
export function pseudoRandom(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
