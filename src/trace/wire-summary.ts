/**
 * WireSummary: what the dashboard keeps of a request decoded from wire frames (wire-decode.ts)
 * until it is opened: a GroupSummary (group-scan.ts) read from the frames in place.
 */
import { parseContentLength, resolveTarget } from '../cgi/request-head';
import { decodeParamList } from '../fastcgi/param-list';
import type { GroupSummary } from './group-scan';
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

/**
 * WireSummary: a gathered request's summary (group-scan.ts GroupSummary); its method, uri, url
 * and mount point are read from its PARAMS stream when first asked for: the dashboard asks only
 * for the requests it keeps (most are evicted before a draw: requests.ts #pending).
 */
export class WireSummary implements GroupSummary {
  level: number;
  time: number;
  pid: number;
  mode: string;
  rid: string;
  conn: number;
  requestId: number;
  records: number;
  hasStart = true;
  startAt: number;
  startTime: number;
  role: string;
  hasEnd = true;
  endAt: number;
  endTime: number;
  endLevel: number;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  aborted: boolean;
  #bytes: Buffer | null;
  #at: number;
  #end: number;
  #base: Buffer | null;
  #prefix: number;
  #suffix: number;
  #head: WireHead;
  #target = { method: '', uri: '', url: '', mountPoint: '' };
  #msg = '';

  constructor(req: SummarySource, head: WireHead, bytes: Buffer, endTime: number, level: number, status: number, durationMs: number, aborted: boolean) {
    this.level = level;
    this.time = Math.floor(req.startTime);
    this.pid = head.pid;
    this.mode = head.mode;
    this.rid = req.rid;
    this.conn = req.conn;
    this.requestId = req.requestId;
    this.records = req.records;
    this.startAt = req.startAt;
    this.startTime = Math.floor(req.startTime);
    this.role = req.role;
    this.endAt = req.records;
    this.endTime = endTime;
    this.endLevel = level;
    this.status = status;
    this.bytesIn = req.bytesIn;
    this.bytesOut = req.bytesOut;
    this.durationMs = durationMs;
    this.aborted = aborted;
    this.#bytes = bytes;
    this.#at = req.paramsAt;
    this.#end = req.paramsEnd;
    this.#base = req.paramsBase;
    this.#prefix = req.paramsPrefix;
    this.#suffix = req.paramsSuffix;
    this.#head = head;
  }

  #read(): { method: string; uri: string; url: string; mountPoint: string } {
    const bytes = this.#bytes;
    if (bytes !== null) {
      this.#bytes = null;
      const base = this.#base;
      this.#base = null;
      const mid = bytes.subarray(this.#at, this.#end);
      const t = targetOf(base === null ? mid : rebuildParams(base, this.#prefix, mid, this.#suffix), this.#head);
      if (t !== undefined) this.#target = t;
      this.#msg = `${this.#target.method} ${this.#target.uri} ${this.aborted ? 'aborted' : this.status} ${this.durationMs.toFixed(1)}ms`;
    }
    return this.#target;
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
function targetOf(bytes: Buffer, head: WireHead): { method: string; uri: string; url: string; mountPoint: string } | undefined {
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

