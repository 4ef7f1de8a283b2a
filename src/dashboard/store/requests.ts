import { boundEvent, Limits, num, optNum, optStr, pairs, str } from './fields';
import { Ring } from './ring';
import type { RecordEvent } from '../../trace/events';

/**
 * RecordEntry: one FastCGI record of a request, as kept (fields checked and bounded): the record
 * event's own fields (trace/events.ts, one definition of what a record carries) and its time.
 */
export type RecordEntry = { time: number } & Pick<RecordEvent, 'dir' | 'type' | 'requestId' | 'contentLength'
  | 'paddingLength' | 'role' | 'flags' | 'keepConn' | 'params' | 'pairs' | 'appStatus' | 'protocolStatus' | 'values'
  | 'unknownType' | 'preview' | 'redacted'>;

/** LogEntry: an app log line or an error, kept whole (bounded) so pino-pretty can render it. */
export interface LogEntry {
  time: number;
  level: number;
  pid: number;
  rid?: string;
  kind: 'log' | 'error' | 'process' | 'text';
  event: Record<string, unknown>;
}

/** RequestEntry: everything seen about one request, keyed by `rid`. */
export interface RequestEntry {
  rid: string;
  /** seq: arrival order; the list sorts by it. */
  seq: number;
  /** version: bumped on every change, so views can cache what they built from it. */
  version: number;
  pid: number;
  mode: string;
  requestId: number;
  firstSeen: number;
  startTime?: number;
  method: string;
  uri: string;
  url: string;
  mountPoint: string;
  role: string;
  params: Array<[string, string]>;
  status?: number;
  headers: Array<[string, string]>;
  bytesIn: number;
  bytesOut: number;
  durationMs?: number;
  appStatus?: number;
  aborted: boolean;
  done: boolean;
  records: RecordEntry[];
  recordsOmitted: number;
  logs: LogEntry[];
  logsOmitted: number;
  errors: LogEntry[];
}

/** RequestStoreOptions: bounds. */
export interface RequestStoreOptions {
  /** maxRequests: the ring's size. Default 1000. */
  maxRequests?: number;
  /** maxRecords: records kept per request (a large upload is thousands of STDIN records). Default 400. */
  maxRecords?: number;
  /** maxLogs: log lines kept per request. Default 200. */
  maxLogs?: number;
}

/** The stream record types, whose count grows with the body: the first to be left out of a big request. */
const streamTypes = new Set(['STDIN', 'STDOUT', 'STDERR', 'DATA']);

/** recordEntry: a record event checked into a RecordEntry. */
export function recordEntry(ev: Record<string, unknown>): RecordEntry {
  const entry: RecordEntry = {
    time: num(ev['time']),
    dir: ev['dir'] === 'out' ? 'out' : 'in',
    type: str(ev['type'], 'UNKNOWN', 40),
    requestId: num(ev['requestId']),
    contentLength: num(ev['contentLength']),
    paddingLength: num(ev['paddingLength']),
  };
  const role = optStr(ev['role'], 40);
  if (role !== undefined) entry.role = role;
  const flags = optNum(ev['flags']);
  if (flags !== undefined) entry.flags = flags;
  if (typeof ev['keepConn'] === 'boolean') entry.keepConn = ev['keepConn'];
  if (Array.isArray(ev['params'])) entry.params = pairs(ev['params']);
  const count = optNum(ev['pairs']);
  if (count !== undefined) entry.pairs = count;
  const appStatus = optNum(ev['appStatus']);
  if (appStatus !== undefined) entry.appStatus = appStatus;
  const protocolStatus = optStr(ev['protocolStatus'], 40);
  if (protocolStatus !== undefined) entry.protocolStatus = protocolStatus;
  if (Array.isArray(ev['values'])) entry.values = pairs(ev['values']);
  const unknownType = optNum(ev['unknownType']);
  if (unknownType !== undefined) entry.unknownType = unknownType;
  const preview = optStr(ev['preview'], Limits.preview);
  if (preview !== undefined) entry.preview = preview;
  if (ev['redacted'] === true) entry.redacted = true;
  return entry;
}

/** logEntry: an app.log or error event as a LogEntry. */
export function logEntry(ev: Record<string, unknown>, kind: LogEntry['kind']): LogEntry {
  const entry: LogEntry = {
    time: num(ev['time']),
    level: num(ev['level'], kind === 'error' ? 50 : 30),
    pid: num(ev['pid']),
    kind,
    event: boundEvent(ev),
  };
  const rid = optStr(ev['rid'], 100);
  if (rid !== undefined) entry.rid = rid;
  return entry;
}

/**
 * RequestStore: the last N requests in a ring, indexed by rid. Events may arrive in any order
 * (a BEGIN_REQUEST record comes before request.start), so the first event of an rid creates the
 * entry. Events for an rid the ring already evicted are counted, not resurrected.
 */
export class RequestStore {
  #ring: Ring<RequestEntry>;
  #byRid = new Map<string, RequestEntry>();
  /** pid:conn:requestId -> the rid that used it last (bounded like the ring). */
  #byConnId = new Map<string, string>();
  /** Recently evicted rids: late events for them are dropped (bounded like the ring). */
  #evicted: Ring<string>;
  #evictedSet = new Set<string>();
  #seq = 0;
  #maxRecords: number;
  #maxLogs: number;
  /** dropped: events for requests already evicted from the ring. */
  dropped = 0;

  constructor(options: RequestStoreOptions = {}) {
    const max = options.maxRequests ?? 1000;
    this.#ring = new Ring(max);
    this.#evicted = new Ring(Math.max(max, 100));
    this.#maxRecords = options.maxRecords ?? 400;
    this.#maxLogs = options.maxLogs ?? 200;
  }

  get size(): number {
    return this.#ring.size;
  }

  get capacity(): number {
    return this.#ring.capacity;
  }

  /** all: oldest first. */
  all(): RequestEntry[] {
    return this.#ring.toArray();
  }

  get(rid: string): RequestEntry | undefined {
    return this.#byRid.get(rid);
  }

  /** start: a request.start event. */
  start(ev: Record<string, unknown>): RequestEntry | undefined {
    const entry = this.#entry(ev);
    if (!entry) return undefined;
    entry.startTime = num(ev['time'], entry.firstSeen);
    entry.method = str(ev['method'], entry.method, 40);
    entry.uri = str(ev['uri'], entry.uri);
    entry.url = str(ev['url'], entry.url);
    entry.mountPoint = str(ev['mountPoint'], entry.mountPoint);
    entry.role = str(ev['role'], entry.role, 40);
    entry.params = pairs(ev['params']);
    entry.version++;
    return entry;
  }

  /** end: a request.end event. */
  end(ev: Record<string, unknown>): RequestEntry | undefined {
    const entry = this.#entry(ev);
    if (!entry) return undefined;
    if (!entry.method) entry.method = str(ev['method'], '', 40);
    if (!entry.uri) entry.uri = str(ev['uri']);
    entry.status = optNum(ev['status']);
    entry.headers = pairs(ev['headers']);
    entry.bytesIn = num(ev['bytesIn']);
    entry.bytesOut = num(ev['bytesOut']);
    entry.durationMs = optNum(ev['durationMs']);
    entry.appStatus = optNum(ev['appStatus']);
    entry.aborted = ev['aborted'] === true;
    entry.done = true;
    entry.version++;
    return entry;
  }

  /** record: a record event carrying an rid; records without one (management) are not kept here. */
  record(ev: Record<string, unknown>): RequestEntry | undefined {
    const entry = this.#entry(ev, optStr(ev['rid'], 100) ?? this.#lastOnId(ev));
    if (!entry) return undefined;
    const record = recordEntry(ev);
    if (typeof ev['rid'] === 'string') this.#remember(ev, entry.rid);
    const full = entry.records.length >= this.#maxRecords;
    // Past the bound, control records (END_REQUEST, ABORT) are still kept: they tell how it ended.
    if (full && (streamTypes.has(record.type) || entry.records.length >= this.#maxRecords + 50)) {
      entry.recordsOmitted++;
    } else {
      entry.records.push(record);
    }
    if (!entry.method && record.params) entry.method = paramOf(record.params, 'REQUEST_METHOD');
    if (!entry.uri && record.params) entry.uri = paramOf(record.params, 'REQUEST_URI');
    entry.version++;
    return entry;
  }

  /** log: an app.log (or error) of a request. */
  log(log: LogEntry): RequestEntry | undefined {
    if (log.rid === undefined) return undefined;
    const entry = this.#entry(log.event, log.rid);
    if (!entry) return undefined;
    const list = log.kind === 'error' ? entry.errors : entry.logs;
    if (list.length >= this.#maxLogs) entry.logsOmitted++;
    else list.push(log);
    entry.version++;
    return entry;
  }

  clear(): void {
    this.#ring.clear();
    this.#byRid.clear();
    this.#byConnId.clear();
    this.#evicted.clear();
    this.#evictedSet.clear();
  }

  /** #entry: the request an event belongs to, created on its first event. */
  #entry(ev: Record<string, unknown>, rid = optStr(ev['rid'], 100)): RequestEntry | undefined {
    if (rid === undefined || rid === '') return undefined;
    const known = this.#byRid.get(rid);
    if (known) {
      if (!known.mode && typeof ev['mode'] === 'string') known.mode = str(ev['mode'], '', 10);
      return known;
    }
    if (this.#evictedSet.has(rid)) {
      this.dropped++;
      return undefined;
    }
    const entry = newEntry(rid, ++this.#seq, ev);
    this.#byRid.set(rid, entry);
    const evicted = this.#ring.push(entry);
    if (evicted) this.#forget(evicted.rid);
    return entry;
  }

  /**
   * #lastOnId: the request that last used this pid, connection and requestId. A record that comes
   * after its request ended (the web server's empty STDIN after the app already answered) carries
   * no rid; it still belongs to that request's timeline, until the id is reused.
   */
  #lastOnId(ev: Record<string, unknown>): string | undefined {
    const requestId = num(ev['requestId']);
    if (requestId === 0) return undefined; // management records belong to no request
    const rid = this.#byConnId.get(connKey(ev));
    return rid !== undefined && this.#byRid.has(rid) ? rid : undefined;
  }

  #remember(ev: Record<string, unknown>, rid: string): void {
    const key = connKey(ev);
    this.#byConnId.delete(key); // re-insert: the map's order is its eviction order
    this.#byConnId.set(key, rid);
    if (this.#byConnId.size > this.#ring.capacity) this.#byConnId.delete(this.#byConnId.keys().next().value as string);
  }

  #forget(rid: string): void {
    this.#byRid.delete(rid);
    const old = this.#evicted.push(rid);
    if (old !== undefined) this.#evictedSet.delete(old);
    this.#evictedSet.add(rid);
  }
}

function newEntry(rid: string, seq: number, ev: Record<string, unknown>): RequestEntry {
  return {
    rid, seq, version: 0,
    pid: num(ev['pid']),
    mode: str(ev['mode'], '', 10),
    requestId: num(ev['requestId']),
    firstSeen: num(ev['time']),
    method: '', uri: '', url: '', mountPoint: '', role: '',
    params: [], headers: [],
    bytesIn: 0, bytesOut: 0,
    aborted: false, done: false,
    records: [], recordsOmitted: 0,
    logs: [], logsOmitted: 0, errors: [],
  };
}

function connKey(ev: Record<string, unknown>): string {
  return `${num(ev['pid'])}:${num(ev['conn'])}:${num(ev['requestId'])}`;
}

/** paramOf: the last value of a param (the last duplicate wins, as in cgi/params). */
export function paramOf(params: Array<[string, string]>, name: string): string {
  for (let i = params.length - 1; i >= 0; i--) if (params[i]![0] === name) return params[i]![1];
  return '';
}
