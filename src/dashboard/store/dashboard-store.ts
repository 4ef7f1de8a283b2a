import type { GroupItem } from '../../trace/group-scan';
import { type ReadItem, readLine } from '../../trace/reader';
import { describeProcessEvent, describeRecord } from '../format/describe';
import { num } from './fields';
import { ProcessTable } from './processes';
import { logEntry, RequestStore, type LogEntry } from './requests';
import { Ring } from './ring';
import { RollingStats } from './stats';

/** DashboardStoreOptions: bounds. */
export interface DashboardStoreOptions {
  /** maxRequests: requests kept (the ring). Default 1000. */
  maxRequests?: number;
  /** maxLogLines: lines in the global log. Default 2000. */
  maxLogLines?: number;
}

/** Counters: what came in, and what could not be used. */
export interface Counters {
  events: number;
  /** textLines: lines that were not JSON events (shown in the log, never trusted). */
  textLines: number;
  /** unknown: JSON events of a kind this dashboard does not know. */
  unknown: number;
}

/**
 * DashboardStore: all the dashboard's data, fed one ReadItem at a time; no blessed here, so it is
 * tested by feeding events. `version` changes on every ingest: the render scheduler's dirty bit.
 */
export class DashboardStore {
  readonly requests: RequestStore;
  readonly processes = new ProcessTable();
  readonly stats = new RollingStats();
  readonly logs: Ring<LogEntry>;
  readonly counters: Counters = { events: 0, textLines: 0, unknown: 0 };
  version = 0;

  constructor(options: DashboardStoreOptions = {}) {
    this.requests = new RequestStore({ maxRequests: options.maxRequests ?? 1000 });
    this.logs = new Ring(options.maxLogLines ?? 2000);
  }

  /** dropped: events that could not be shown: late ones for evicted requests, producers' own drops. */
  dropped(): number {
    return this.requests.dropped + this.processes.droppedTotal();
  }

  /**
   * ingest: one item from the reader; `now` is the receive time (rates and "last seen" use it). A
   * grouped line's summary (a reader with `summaries`; group-scan.ts) counts as the events of its
   * line: a whole request becomes an entry at once (RequestStore#group), anything else is read
   * into its events here.
   */
  ingest(item: ReadItem | GroupItem, now = Date.now()): void {
    this.version++;
    if (item.kind === 'group') {
      const g = item.group;
      if (!this.requests.group(item)) {
        if (item.expand !== undefined) for (const i of item.expand()) this.ingest(i, now);
        else readLine(item.bytes.toString('utf8'), (i) => this.ingest(i, now), { base: item.paramsBase });
        return;
      }
      this.counters.events += g.records + 2;
      this.processes.touchPid(g.pid, g.mode, undefined, now).requests++;
      this.stats.add(now, g.durationMs, g.status);
      return;
    }
    if (item.kind === 'text') {
      this.counters.textLines++;
      this.logs.push({ time: now, level: 30, pid: 0, kind: 'text', event: { msg: item.text } });
      return;
    }
    this.counters.events++;
    this.#event(item.event as unknown as Record<string, unknown>, now);
  }

  clear(): void {
    this.requests.clear();
    this.processes.clear();
    this.stats.clear();
    this.logs.clear();
    this.counters.events = this.counters.textLines = this.counters.unknown = 0;
    this.version++;
  }

  /** #event: the one dispatch on the event kind. */
  #event(ev: Record<string, unknown>, now: number): void {
    const proc = this.processes.touch(ev, now);
    switch (ev['ev']) {
      case 'process.start':
        this.processes.start(proc, ev);
        this.#processLine(ev, describeProcessEvent(ev));
        break;
      case 'process.exit':
        this.processes.exit(proc, ev);
        this.#processLine(ev, describeProcessEvent(ev));
        this.requests.exited(ev);
        break;
      case 'conn.open':
        proc.conns++;
        break;
      case 'conn.close':
        proc.conns = Math.max(0, proc.conns - 1);
        break;
      case 'record':
        // Records without an rid are management records (GET_VALUES) or strays: the log shows them.
        if (!this.requests.record(ev)) this.#processLine({ ...ev, level: 20 }, describeRecord(ev));
        break;
      case 'request.start':
        if (this.requests.start(ev)) proc.requests++;
        break;
      case 'request.end': {
        const entry = this.requests.end(ev);
        if (entry) this.stats.add(now, entry.durationMs, entry.status);
        break;
      }
      case 'app.log':
      case 'error': {
        const log = logEntry(ev, ev['ev'] === 'error' ? 'error' : 'log');
        this.requests.log(log);
        this.logs.push(log);
        break;
      }
      default:
        this.counters.unknown++;
    }
  }

  #processLine(ev: Record<string, unknown>, msg: string): void {
    this.logs.push({
      time: num(ev['time']), level: num(ev['level'], 30), pid: num(ev['pid']), kind: 'process',
      event: { level: num(ev['level'], 30), time: num(ev['time']), pid: num(ev['pid']), msg },
    });
  }
}
