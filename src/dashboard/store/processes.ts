import { num, optStr, str } from './fields';

/** ProcessEntry: one producer process, by pid. */
export interface ProcessEntry {
  pid: number;
  mode: string;
  reason: string;
  app: string;
  version: string;
  user: string;
  firstSeen: number;
  /** lastSeen: receive time of its latest event. */
  lastSeen: number;
  requests: number;
  conns: number;
  exited: boolean;
  exitReason: string;
  /** dropped: lines the producer reported it could not send (its own count, when it tells us). */
  dropped: number;
}

/**
 * ProcessTable: every pid seen, bounded. In CGI mode each hit is a new process, so the table keeps
 * the most recently seen `max` and forgets the rest.
 */
export class ProcessTable {
  #byPid = new Map<number, ProcessEntry>();
  /** #last: the entry touched last (already at the end of #byPid). */
  #last: ProcessEntry | undefined;
  #max: number;

  constructor(max = 256) {
    this.#max = max;
  }

  get size(): number {
    return this.#byPid.size;
  }

  get(pid: number): ProcessEntry | undefined {
    return this.#byPid.get(pid);
  }

  /** recent: most recently seen first (the map is kept in touch order). */
  recent(): ProcessEntry[] {
    return [...this.#byPid.values()].reverse();
  }

  /** live: processes that have not said they exited. */
  live(): number {
    let n = 0;
    for (const p of this.#byPid.values()) if (!p.exited) n++;
    return n;
  }

  /** droppedTotal: the sum of what producers reported dropping. */
  droppedTotal(): number {
    let n = 0;
    for (const p of this.#byPid.values()) n += p.dropped;
    return n;
  }

  /** touch: any event of `pid` (the map keeps insertion order = last touched, for eviction). */
  touch(ev: Record<string, unknown>, now: number): ProcessEntry {
    return this.touchPid(num(ev['pid']), ev['mode'], ev['dropped'], now);
  }

  /** touchPid: touch() with the fields it reads: pid, mode and the producer's dropped count. */
  touchPid(pid: number, mode: unknown, dropped: unknown, now: number): ProcessEntry {
    let entry = this.#byPid.get(pid);
    if (entry === this.#last && entry !== undefined) {
      // Already the most recent (a busy FastCGI process sends ~9 events a request): moving it to
      // the end again would be a Map delete and insert per event (3% of the dashboard's CPU under
      // load, profile of `dualcgi dashboard` in tmux at ~22k traced req/s).
    } else if (entry) {
      this.#byPid.delete(pid);
      this.#byPid.set(pid, entry);
    } else {
      entry = newProcess(pid, now);
      if (this.#byPid.size >= this.#max) this.#byPid.delete(this.#byPid.keys().next().value as number);
      this.#byPid.set(pid, entry);
    }
    this.#last = entry;
    entry.lastSeen = now;
    if (!entry.mode && typeof mode === 'string') entry.mode = str(mode, '', 10);
    if (typeof dropped === 'number' && dropped > entry.dropped) entry.dropped = dropped;
    return entry;
  }

  /** start: process.start (mode, the reason for it, app, version, user). */
  start(entry: ProcessEntry, ev: Record<string, unknown>): void {
    entry.mode = str(ev['mode'], entry.mode, 10);
    entry.reason = str(ev['reason'], '', 300);
    entry.app = str(ev['app'], '', 500);
    entry.version = optStr(ev['version'], 100) ?? '';
    entry.user = str(ev['user'], '', 100);
    entry.exited = false;
  }

  /** exit: process.exit. */
  exit(entry: ProcessEntry, ev: Record<string, unknown>): void {
    entry.exited = true;
    entry.exitReason = str(ev['reason'], '', 200);
    entry.conns = 0;
  }

  clear(): void {
    this.#byPid.clear();
  }
}

function newProcess(pid: number, now: number): ProcessEntry {
  return {
    pid, mode: '', reason: '', app: '', version: '', user: '',
    firstSeen: now, lastSeen: now, requests: 0, conns: 0,
    exited: false, exitReason: '', dropped: 0,
  };
}
