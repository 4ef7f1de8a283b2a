import { boundEvent, Limits, num, optNum, optStr, pairs, str } from './fields';
import { Ring } from './ring';
import type { RecordEvent } from '../../trace/events';
import { expandGroup, type ParamsBaseRef } from '../../trace/group-expand';
import type { GroupItem, GroupSummary } from '../../trace/group-scan';
import type { ReadItem } from '../../trace/reader';

/** EMPTY_LINE: the line of a request decoded from wire frames (it has none: its events are made from them). */
const EMPTY_LINE = Buffer.alloc(0);

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

/**
 * RequestEntry: everything seen about one request, keyed by `rid`. A request that came as one
 * grouped line (request-group.ts; the usual case: a request done within one event loop turn) is
 * kept as its summary plus the line: its records, params and headers are read from the line when
 * first asked for (the detail pane, export), by the same code that reads a line per event
 * (`RequestStore#fill`), so nothing else can tell. group-scan.ts says what this buys.
 */
export class RequestEntry {
  rid: string;
  /** seq: arrival order; the list sorts by it. */
  seq: number;
  /** version: bumped on every change, so views can cache what they built from it. */
  version = 0;
  pid: number;
  mode: string;
  requestId: number;
  firstSeen: number;
  startTime: number | undefined = undefined;
  #method = '';
  #uri = '';
  #url = '';
  #mountPoint = '';
  /** #from: a summary its method, uri, url and mount point are still to be taken from (target()). */
  #from: GroupSummary | undefined = undefined;
  role = '';
  status: number | undefined = undefined;
  bytesIn = 0;
  bytesOut = 0;
  durationMs: number | undefined = undefined;
  appStatus: number | undefined = undefined;
  aborted = false;
  done = false;
  logsOmitted = 0;
  /** unreadable: its grouped line turned out not to be well formed when read (its records, params and headers are missing). */
  unreadable = false;
  /**
   * #logs, #errors, #records, #params, #headers: made when first asked for (null until then). Under
   * a stream of requests the store makes a ring's worth of entries (1,000) at every draw, and
   * the draw reads the lists of one (the selected request's) and the errors of the rows it shows:
   * five empty arrays per entry were ~160 of its bytes, kept until the next draw, so copied by
   * the scavenges between (bench/README, trace, "Eighth session").
   */
  #logs: LogEntry[] | null = null;
  #errors: LogEntry[] | null = null;
  #records: RecordEntry[] | null = null;
  #recordsOmitted = 0;
  #params: Array<[string, string]> | null = null;
  #headers: Array<[string, string]> | null = null;
  /** #line: the grouped line not read yet (UTF-8), and who reads it. */
  #line: Buffer | undefined = undefined;
  /** #paramsBase: the params base of #line's connection, for a line whose params are a delta (request-group.ts paramsText). */
  #paramsBase: ParamsBaseRef | undefined = undefined;
  #fill: ((entry: RequestEntry, line: Buffer, paramsBase: ParamsBaseRef | undefined) => void) | undefined = undefined;

  constructor(rid: string, seq: number, pid: number, mode: string, requestId: number, firstSeen: number) {
    this.rid = rid;
    this.seq = seq;
    this.pid = pid;
    this.mode = mode;
    this.requestId = requestId;
    this.firstSeen = firstSeen;
  }

  /**
   * target: take method, uri, url and mount point from `g`; `later`: when first asked for (a wire
   * summary decodes its params for them). A scanned line's summary is taken now: its strings are
   * slices of the line's text, which it would keep alive.
   */
  target(g: GroupSummary, later: boolean): void {
    this.#from = g;
    if (!later) this.#take();
  }

  #take(): void {
    const g = this.#from!;
    this.#from = undefined;
    this.#method = own(str(g.method, '', 40));
    this.#uri = own(str(g.uri));
    this.#url = own(str(g.url));
    this.#mountPoint = own(str(g.mountPoint));
  }

  get method(): string {
    if (this.#from !== undefined) this.#take();
    return this.#method;
  }

  set method(value: string) {
    if (this.#from !== undefined) this.#take();
    this.#method = value;
  }

  get uri(): string {
    if (this.#from !== undefined) this.#take();
    return this.#uri;
  }

  set uri(value: string) {
    if (this.#from !== undefined) this.#take();
    this.#uri = value;
  }

  get url(): string {
    if (this.#from !== undefined) this.#take();
    return this.#url;
  }

  set url(value: string) {
    if (this.#from !== undefined) this.#take();
    this.#url = value;
  }

  get mountPoint(): string {
    if (this.#from !== undefined) this.#take();
    return this.#mountPoint;
  }

  set mountPoint(value: string) {
    if (this.#from !== undefined) this.#take();
    this.#mountPoint = value;
  }

  /** unread: the grouped line this entry's records, params and headers are still to be read from. */
  get unread(): boolean {
    return this.#line !== undefined;
  }

  /** defer: read `line` with `fill` when the lists are first asked for. */
  defer(line: Buffer, paramsBase: ParamsBaseRef | undefined, fill: (entry: RequestEntry, line: Buffer, paramsBase: ParamsBaseRef | undefined) => void): void {
    this.#line = line;
    this.#paramsBase = paramsBase;
    this.#fill = fill;
  }

  /** read: the deferred line, now (before any change that depends on what it holds). */
  read(): void {
    const line = this.#line;
    if (line === undefined) return;
    this.#line = undefined;
    const fill = this.#fill!;
    const paramsBase = this.#paramsBase;
    this.#fill = undefined;
    this.#paramsBase = undefined;
    fill(this, line, paramsBase);
  }

  get logs(): LogEntry[] {
    return (this.#logs ??= []);
  }

  set logs(value: LogEntry[]) {
    this.#logs = value;
  }

  get errors(): LogEntry[] {
    return (this.#errors ??= []);
  }

  set errors(value: LogEntry[]) {
    this.#errors = value;
  }

  get records(): RecordEntry[] {
    this.read();
    return (this.#records ??= []);
  }

  set records(value: RecordEntry[]) {
    this.read();
    this.#records = value;
  }

  get recordsOmitted(): number {
    this.read();
    return this.#recordsOmitted;
  }

  set recordsOmitted(value: number) {
    this.read();
    this.#recordsOmitted = value;
  }

  get params(): Array<[string, string]> {
    this.read();
    return (this.#params ??= []);
  }

  set params(value: Array<[string, string]>) {
    this.read();
    this.#params = value;
  }

  get headers(): Array<[string, string]> {
    this.read();
    return (this.#headers ??= []);
  }

  set headers(value: Array<[string, string]>) {
    this.read();
    this.#headers = value;
  }
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
  #dropped = 0;
  /**
   * #pending: whole requests (group()) not made into entries yet, in arrival order: made when the
   * store is next read (any method but group()); a ring as large as the request ring, so a request
   * pushed out of it before any read is only remembered as evicted (#skip). Under a stream of
   * requests the list is drawn at most 5 times a second while thousands arrive, and most would be
   * evicted before any draw saw them: making an entry of each (the entry, its place in three maps,
   * its line copied) was ~2 µs of the dashboard's CPU per traced hello request and most of what
   * its young generation kept (bench/README, trace, "Fourth round"). The ring keeps the items as
   * they came (for a wire request one object: wire-summary.ts) and no more of them than the ring
   * can show: what survives a scavenge between two draws (bench/README, trace, "Seventh session").
   */
  #pending: Array<GroupItem | undefined>;
  #pendingStart = 0;
  #pendingSize = 0;

  constructor(options: RequestStoreOptions = {}) {
    const max = options.maxRequests ?? 1000;
    this.#ring = new Ring(max);
    this.#pending = new Array<GroupItem | undefined>(max).fill(undefined);
    this.#evicted = new Ring(Math.max(max, 100));
    this.#maxRecords = options.maxRecords ?? 400;
    this.#maxLogs = options.maxLogs ?? 200;
  }

  /** dropped: events for requests already evicted from the ring. */
  get dropped(): number {
    this.#settle();
    return this.#dropped;
  }

  get size(): number {
    this.#settle();
    return this.#ring.size;
  }

  get capacity(): number {
    return this.#ring.capacity;
  }

  /** all: oldest first. */
  all(): RequestEntry[] {
    this.#settle();
    return this.#ring.toArray();
  }

  get(rid: string): RequestEntry | undefined {
    this.#settle();
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
    this.#settle();
    const entry = this.#entry(ev, optStr(ev['rid'], 100) ?? this.#lastOnId(ev));
    if (!entry) return undefined;
    if (typeof ev['rid'] === 'string') this.#remember(ev, entry.rid);
    this.#addRecord(entry, recordEntry(ev));
    entry.version++;
    return entry;
  }

  #addRecord(entry: RequestEntry, record: RecordEntry): void {
    const full = entry.records.length >= this.#maxRecords;
    // Past the bound, control records (END_REQUEST, ABORT) are still kept: they tell how it ended.
    if (full && (streamTypes.has(record.type) || entry.records.length >= this.#maxRecords + 50)) {
      entry.recordsOmitted++;
    } else {
      entry.records.push(record);
    }
    if (!entry.method && record.params) entry.method = paramOf(record.params, 'REQUEST_METHOD');
    if (!entry.uri && record.params) entry.uri = paramOf(record.params, 'REQUEST_URI');
  }

  /**
   * group: a whole request in one grouped line (its start and its end; group-scan.ts), seen for the
   * first time: true when taken, to become an entry as start(), end() and record() would have made
   * it from the line's events, with the line (its UTF-8 bytes) kept to be read when its lists are
   * asked for (#fill), or for a request decoded from wire frames, its `expand()`. The entry is made
   * when the store is next read (#pending says why); the item must stay as it is until then (the
   * dashboard's bytes are socket reads, never reused). false when the line is not such a request:
   * the caller hands on its events one by one.
   */
  group(item: GroupItem): boolean {
    const g = item.group;
    const rid = g.rid;
    if (!g.hasStart || !g.hasEnd || rid === '' || rid.length > 100 || this.#byRid.has(rid) || this.#evictedSet.has(rid)) return false;
    const pending = this.#pending;
    const capacity = pending.length;
    if (this.#pendingSize < capacity) {
      pending[(this.#pendingStart + this.#pendingSize) % capacity] = item;
      this.#pendingSize++;
      return true;
    }
    // Full: the oldest would be evicted by the newer ones before it was ever seen.
    const oldest = pending[this.#pendingStart]!;
    pending[this.#pendingStart] = item;
    this.#pendingStart = (this.#pendingStart + 1) % capacity;
    this.#skip(oldest.group.rid);
    return true;
  }

  /**
   * #settle: the pending requests made into entries, in order. A rid met twice (a second whole line
   * for a request already kept) is dropped.
   */
  #settle(): void {
    const size = this.#pendingSize;
    if (size === 0) return;
    const pending = this.#pending;
    const capacity = pending.length;
    const start = this.#pendingStart;
    this.#pendingSize = 0;
    this.#pendingStart = 0;
    for (let i = 0; i < size; i++) {
      const at = (start + i) % capacity;
      const item = pending[at]!;
      pending[at] = undefined;
      const rid = item.group.rid;
      if (this.#byRid.has(rid) || this.#evictedSet.has(rid)) this.#dropped++;
      else this.#enter(item);
    }
  }

  /** #skip: a pending request that is evicted before it was made into an entry (never in #byRid: group() checked). */
  #skip(rid: string): void {
    this.#seq++;
    this.#evict(own(rid));
  }

  /** #enter: a pending request made into an entry. */
  #enter(item: GroupItem): void {
    const g = item.group;
    const rid = g.rid;
    const entry = new RequestEntry(own(rid), ++this.#seq, g.pid, own(str(g.mode, '', 10)), g.requestId, g.time);
    this.#byRid.set(rid, entry);
    const evicted = this.#ring.push(entry);
    if (evicted) this.#forget(evicted.rid);
    if (g.records > 0) this.#rememberKey(`${g.pid}:${g.conn}:${g.requestId}`, rid);
    entry.startTime = g.startTime;
    // Method, uri, url and mount point are read from the summary when first asked for: most
    // entries are evicted before a draw shows them (a wire summary decodes its params for them).
    entry.target(g, item.expand !== undefined);
    entry.role = own(str(g.role, '', 40));
    entry.status = g.status;
    entry.bytesIn = g.bytesIn;
    entry.bytesOut = g.bytesOut;
    entry.durationMs = g.durationMs;
    entry.appStatus = 0;
    entry.aborted = g.aborted;
    entry.done = true;
    entry.version += g.records + 2; // as one change per event
    if (item.expand !== undefined) {
      // Decoded from wire frames (trace/wire-decode.ts): its events are made when first asked for.
      entry.defer(EMPTY_LINE, undefined, (e) => this.#fillItems(e, item.expand!()));
      return;
    }
    // Kept as a copy: a view would keep the whole socket read alive (up to ~64 KiB per request).
    const bytes = item.bytes;
    const kept = Buffer.allocUnsafe(bytes.length);
    bytes.copy(kept, 0);
    entry.defer(kept, item.paramsBase, this.#fill);
  }

  /**
   * #fill: a deferred grouped line read into its entry's lists: each record as record() keeps it,
   * params as start() does, headers as end() does. A line that is not well formed after all (its
   * head scanned, the rest not valid) leaves the lists empty and marks the entry unreadable.
   */
  #fill = (entry: RequestEntry, line: Buffer, paramsBase: ParamsBaseRef | undefined): void => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.toString());
    } catch {
      parsed = undefined;
    }
    const items = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? expandGroup(parsed as Record<string, unknown>, { base: paramsBase })
      : undefined;
    if (items === undefined) {
      entry.unreadable = true;
      return;
    }
    this.#fillItems(entry, items);
  };

  /** #fillItems: a deferred request's events into its entry's lists (as record(), start() and end() keep them). */
  #fillItems(entry: RequestEntry, items: ReadItem[]): void {
    for (const item of items) {
      if (item.kind !== 'event') continue;
      const ev = item.event as unknown as Record<string, unknown>;
      switch (ev['ev']) {
        case 'record':
          this.#addRecord(entry, recordEntry(ev));
          break;
        case 'request.start':
          entry.params = pairs(ev['params']);
          break;
        case 'request.end':
          entry.headers = pairs(ev['headers']);
          break;
        default:
      }
    }
  }

  /**
   * exited: a process said it ends (process.exit): its requests still open end there, aborted,
   * with an error saying so. A worker its app killed (process.exit() in a handler) left its request
   * in progress for good: `…` in the list until the ring pushed it out, while the web server had
   * long answered 502. Returns how many it ended.
   */
  exited(ev: Record<string, unknown>): number {
    this.#settle();
    const pid = num(ev['pid']);
    const time = num(ev['time']);
    const reason = str(ev['reason'], 'no reason given', 200);
    let n = 0;
    for (let i = 0; i < this.#ring.size; i++) {
      const entry = this.#ring.at(i)!;
      if (entry.pid !== pid || entry.done) continue;
      entry.done = true;
      entry.aborted = true;
      entry.durationMs = Math.max(0, time - (entry.startTime ?? entry.firstSeen));
      const msg = `process ${pid} ended before this request did: ${reason}`;
      entry.errors.push({ time, level: 50, pid, rid: entry.rid, kind: 'error', event: { level: 50, time, pid, rid: entry.rid, msg } });
      entry.version++;
      n++;
    }
    return n;
  }

  /** log: an app.log (or error) of a request. */
  log(log: LogEntry): RequestEntry | undefined {
    if (log.rid === undefined) return undefined;
    this.#settle();
    const entry = this.#entry(log.event, log.rid);
    if (!entry) return undefined;
    const list = log.kind === 'error' ? entry.errors : entry.logs;
    if (list.length >= this.#maxLogs) entry.logsOmitted++;
    else list.push(log);
    entry.version++;
    return entry;
  }

  clear(): void {
    this.#pending.fill(undefined);
    this.#pendingStart = 0;
    this.#pendingSize = 0;
    this.#ring.clear();
    this.#byRid.clear();
    this.#byConnId.clear();
    this.#evicted.clear();
    this.#evictedSet.clear();
  }

  /** #entry: the request an event belongs to, created on its first event. */
  #entry(ev: Record<string, unknown>, rid = optStr(ev['rid'], 100)): RequestEntry | undefined {
    this.#settle();
    if (rid === undefined || rid === '') return undefined;
    const known = this.#byRid.get(rid);
    if (known) {
      if (!known.mode && typeof ev['mode'] === 'string') known.mode = str(ev['mode'], '', 10);
      return known;
    }
    if (this.#evictedSet.has(rid)) {
      this.#dropped++;
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
    this.#rememberKey(connKey(ev), rid);
  }

  #rememberKey(key: string, rid: string): void {
    this.#byConnId.delete(key); // re-insert: the map's order is its eviction order
    this.#byConnId.set(key, rid);
    if (this.#byConnId.size > this.#ring.capacity) this.#byConnId.delete(this.#byConnId.keys().next().value as string);
  }

  #forget(rid: string): void {
    this.#byRid.delete(rid);
    this.#evict(rid);
  }

  /** #evict: remembered as evicted (late events for it are dropped), among the last ones so. */
  #evict(rid: string): void {
    const old = this.#evicted.push(rid);
    if (old !== undefined) this.#evictedSet.delete(old);
    this.#evictedSet.add(rid);
  }
}

/**
 * own: a string of the summary as a string of its own. The scan's strings are slices of the socket
 * read's text (V8 slices strings of 13 characters and more), so an entry keeping one would keep the
 * whole text alive; a string added to another is flattened into a copy first.
 */
function own(s: string): string {
  return s.length < 13 ? s : (` ${s}`).slice(1);
}

function newEntry(rid: string, seq: number, ev: Record<string, unknown>): RequestEntry {
  return new RequestEntry(rid, seq, num(ev['pid']), str(ev['mode'], '', 10), num(ev['requestId']), num(ev['time']));
}

function connKey(ev: Record<string, unknown>): string {
  return `${num(ev['pid'])}:${num(ev['conn'])}:${num(ev['requestId'])}`;
}

/** paramOf: the last value of a param (the last duplicate wins, as in cgi/params). */
export function paramOf(params: Array<[string, string]>, name: string): string {
  for (let i = params.length - 1; i >= 0; i--) if (params[i]![0] === name) return params[i]![1];
  return '';
}
