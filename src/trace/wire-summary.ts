/**
 * WireSummary: what the dashboard keeps of a request decoded from wire frames (wire-decode.ts)
 * until it is opened: a GroupSummary (group-scan.ts) read from the frames in place.
 */
import { parseContentLength, resolveTarget } from '../cgi/request-head';
import { decodeParamList } from '../fastcgi/param-list';
import type { GroupItem, GroupSummary } from './group-scan';
import type { ReadItem } from './reader';
import { rebuildParams, type WireHead } from './wire-format';

/** READER_LIMITS: a reader shows what the serving process accepted; these only keep a hostile line bounded. */
export const READER_LIMITS = {
  maxParams: 10_000, maxNameBytes: 64 * 1024, maxValueBytes: 1024 * 1024, maxRequestsPerConn: 65_536, maxBodyBytes: Infinity,
  idleTimeoutMs: 0, paramsTimeoutMs: 0, writeTimeoutMs: 0,
};

/** SummarySource: what the decoder knows of a gathered request (wire-decode.ts Req) and its PARAMS stream in the line. */
export interface SummarySource {
  rid: string;
  conn: number;
  requestId: number;
  records: number;
  startAt: number;
  startTime: number;
  role: string;
  bytesIn: number;
  bytesOut: number;
  paramsAt: number;
  paramsEnd: number;
  /** paramsBase (not null: the params came as a DELTA, paramsAt..paramsEnd being its middle), paramsPrefix, paramsSuffix. */
  paramsBase: Buffer | null;
  paramsPrefix: number;
  paramsSuffix: number;
  /** spanHead: where its chain of frame starts begins in the line's span list (wire-decode.ts SpanList); spansTime: the time of its first frame. */
  spanHead: number;
  spansTime: number;
}

const STATUS_BYTES = Buffer.from('status:', 'latin1');

/** statusAt: the status of a response head at `b[from, to)` (`Status: NNN`, any case), 200 without one; read in place. */
export function statusAt(b: Buffer, from: number, to: number): number {
  if (to - from < 11) return 200;
  for (let i = 0; i < 7; i++) if ((b[from + i]! | 0x20) !== STATUS_BYTES[i]) return 200;
  let i = from + 7;
  while (i < to && b[i] === 0x20) i++;
  if (i + 3 > to) return 200;
  let status = 0;
  for (let k = 0; k < 3; k++) {
    const d = b[i + k]! - 0x30;
    if (d < 0 || d > 9) return 200;
    status = status * 10 + d;
  }
  return status;
}

/** Target: a request's method and target as the serving process mapped them. */
interface Target {
  method: string;
  uri: string;
  url: string;
  mountPoint: string;
}

/** Expander: a gathered request's events from its frames in a line (wire-decode.ts expandSpans; passed in, so the modules do not import each other). */
export type Expander = (head: WireHead, bytes: Buffer, spans: Int32Array, first: number, time: number, base: Buffer | null) => ReadItem[];

const NO_TARGET: Target = { method: '', uri: '', url: '', mountPoint: '' };
const EMPTY = Buffer.alloc(0);

/**
 * WireSummary: a gathered request's summary (group-scan.ts GroupSummary) and the group item that
 * hands it on (its `group` is itself, `expand()` decodes its frames again); its method, uri, url
 * and mount point are read from its PARAMS stream when first asked for: the dashboard asks only
 * for the requests it draws.
 *
 * One object per request, holding only what it needs (the line's frames, where its own are in
 * them): the dashboard keeps up to a ring's worth of these between two draws, and what they held
 * (a separate item, the expand closure and its context, the decoder's request record, a target
 * object) was what its scavenges copied and promoted: bench/README, trace, "Seventh session".
 */
export class WireSummary implements GroupSummary, GroupItem {
  level: number;
  time: number;
  pid: number;
  mode: string;
  rid: string;
  conn: number;
  requestId: number;
  records: number;
  startAt: number;
  role: string;
  endTime: number;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  aborted: boolean;
  #bytes: Buffer;
  /**
   * #spans, #first: where the request's frames start in #bytes, a chain from #first in its line's
   * span list (wire-decode.ts SpanList, shared by the line's requests); #spansTime: the time of the first (copySpans).
   */
  #spans: Int32Array;
  #first: number;
  #spansTime: number;
  #at: number;
  #end: number;
  #base: Buffer | null;
  #prefix: number;
  #suffix: number;
  #head: WireHead;
  #expand: Expander;
  /** #target: read from the params when first asked for (null until then). */
  #target: Target | null = null;
  #msg = '';

  constructor(req: SummarySource, head: WireHead, bytes: Buffer, spans: Int32Array, expand: Expander, endTime: number, level: number, status: number,
    durationMs: number, aborted: boolean) {
    this.level = level;
    this.time = Math.floor(req.startTime);
    this.pid = head.pid;
    this.mode = head.mode;
    this.rid = req.rid;
    this.conn = req.conn;
    this.requestId = req.requestId;
    this.records = req.records;
    this.startAt = req.startAt;
    this.role = req.role;
    this.endTime = endTime;
    this.status = status;
    this.bytesIn = req.bytesIn;
    this.bytesOut = req.bytesOut;
    this.durationMs = durationMs;
    this.aborted = aborted;
    this.#bytes = bytes;
    this.#spans = spans;
    this.#first = req.spanHead;
    this.#spansTime = req.spansTime;
    this.#at = req.paramsAt;
    this.#end = req.paramsEnd;
    this.#base = req.paramsBase;
    this.#prefix = req.paramsPrefix;
    this.#suffix = req.paramsSuffix;
    this.#head = head;
    this.#expand = expand;
  }

  // GroupItem: the item is the summary.
  get kind(): 'group' {
    return 'group';
  }

  get group(): GroupSummary {
    return this;
  }

  /** bytes: none (its events come from expand()). */
  get bytes(): Buffer {
    return EMPTY;
  }

  get paramsBase(): undefined {
    return undefined;
  }

  /** expand: the request's events, decoded again from its frames (wire-decode.ts expandSpans). */
  expand(): ReadItem[] {
    return this.#expand(this.#head, this.#bytes, this.#spans, this.#first, this.#spansTime, this.#base);
  }

  // The fields a gathered request always has the same way (start and end in the line).
  get hasStart(): boolean {
    return true;
  }

  get hasEnd(): boolean {
    return true;
  }

  get startTime(): number {
    return this.time;
  }

  get endAt(): number {
    return this.records;
  }

  get endLevel(): number {
    return this.level;
  }

  #read(): Target {
    if (this.#target !== null) return this.#target;
    const base = this.#base;
    const mid = this.#bytes.subarray(this.#at, this.#end);
    const t = targetOf(base === null ? mid : rebuildParams(base, this.#prefix, mid, this.#suffix), this.#head) ?? NO_TARGET;
    this.#target = t;
    this.#msg = `${t.method} ${t.uri} ${this.aborted ? 'aborted' : this.status} ${this.durationMs.toFixed(1)}ms`;
    return t;
  }

  get msg(): string {
    this.#read();
    return this.#msg;
  }

  get method(): string {
    return this.#read().method;
  }

  get uri(): string {
    return this.#read().uri;
  }

  get url(): string {
    return this.#read().url;
  }

  get mountPoint(): string {
    return this.#read().mountPoint;
  }
}

/** targetOf: a PARAMS stream's method and request target as the serving process mapped them; undefined when it did not start the request. */
function targetOf(bytes: Buffer, head: WireHead): Target | undefined {
  try {
    const list = decodeParamList(bytes, READER_LIMITS);
    const method = list.get('REQUEST_METHOD');
    if (!method) return undefined;
    parseContentLength(list.get('CONTENT_LENGTH'));
    const t = resolveTarget(list, head.strip, head.script);
    return { method, uri: t.originalUrl, url: t.url, mountPoint: t.mountPoint };
  } catch {
    return undefined;
  }
}

