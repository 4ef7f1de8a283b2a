import { closeSync, existsSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { isRawLine, subscribe, type TraceMessage } from './channel';
import { isNote } from './notes';
import { groupLine, noteLine, type ParamsWire, RequestGroup } from './request-group';
import { originalStderrWrite } from './stdio';
import type { TraceTarget } from './target';
import { setMirror, WIRE_LINE_END, WireMirror, wireLineHead } from './wire-mirror';

/** Sink: a subscriber that writes NDJSON lines to one target. */
export interface Sink {
  /** flush: resolves once queued lines are written (or `timeoutMs` passed); CGI waits on it before exit. */
  flush(timeoutMs: number): Promise<void>;
  close(): void;
  /**
   * flushSync: what is gathered, written before this call returns (best effort): the process is
   * exiting ('exit': no more turns), e.g. an app that called process.exit() in a handler.
   */
  flushSync?(): void;
  /** dropped: lines lost because the target was unreachable or too slow. */
  readonly dropped: number;
}

/** serialize: one NDJSON line per event (notes too). Raw lines (pino's own) pass through. */
export function serialize(message: TraceMessage): string {
  if (isNote(message)) return noteLine(message);
  if (isRawLine(message)) return message.raw.endsWith('\n') ? message.raw : `${message.raw}\n`;
  return `${JSON.stringify(message)}\n`;
}

/** BATCH_MS, BATCH_BYTES: how long, or how much, a socket sink gathers lines before one write. */
const BATCH_MS = 20;
/** GROUP_SEARCH: how many of a turn's last items are searched for a request's group. */
const GROUP_SEARCH = 64;
const BATCH_BYTES = 128 * 1024;
/** CHUNK_BYTES: the buffers a socket sink encodes its lines into. */
const CHUNK_BYTES = 256 * 1024;

/** SinkOptions: bounds. */
export interface SinkOptions {
  /** maxFileBytes: a file target rotates to `<path>.1` past this size. Default 64 MiB. */
  maxFileBytes?: number;
  /** maxQueued: lines held for a socket that is not connected yet or not draining. Default 10,000. */
  maxQueued?: number;
  /** retryMs: how long after a failed connect a socket sink tries again. Default 2000. */
  retryMs?: number;
  /**
   * maxUnreadBytes: a socket sink whose listener leaves this much unread drops the connection (and
   * tries again after retryMs). Default 32 MiB.
   */
  maxUnreadBytes?: number;
}

/** createSink: subscribe a writer for `target` to the trace channel. */
export function createSink(target: TraceTarget, options: SinkOptions = {}): Sink {
  switch (target.kind) {
    case 'off': return { flush: () => Promise.resolve(), close: () => {}, dropped: 0 };
    case 'stderr': return new StreamSink((line) => originalStderrWrite(line));
    case 'file': return new FileSink(target.path, options.maxFileBytes ?? 64 * 1024 * 1024);
    case 'unix': return new SocketSink(target.path, options.maxQueued ?? 10_000, options.retryMs ?? 2000,
      options.maxUnreadBytes ?? 32 * 1024 * 1024);
  }
}

class StreamSink implements Sink {
  dropped = 0;
  #unsubscribe: () => void;

  constructor(write: (line: string) => void) {
    this.#unsubscribe = subscribe((m) => write(serialize(m)));
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.#unsubscribe();
  }
}

/**
 * FileSink: appends with synchronous writes (O_APPEND keeps lines from several processes whole),
 * so a CGI process that exits loses nothing; rotates once the file passes maxBytes.
 */
class FileSink implements Sink {
  dropped = 0;
  #path: string;
  #fd: number;
  #size: number;
  #maxBytes: number;
  #unsubscribe: () => void;

  constructor(path: string, maxBytes: number) {
    this.#path = path;
    this.#maxBytes = maxBytes;
    this.#fd = openSync(path, 'a', 0o600);
    this.#size = fstatSync(this.#fd).size;
    this.#unsubscribe = subscribe((m) => this.#write(serialize(m)));
  }

  #write(line: string): void {
    try {
      const n = writeSync(this.#fd, line);
      this.#size += n;
      if (this.#size > this.#maxBytes) this.#rotate();
    } catch {
      this.dropped++;
    }
  }

  /**
   * #rotate: the file moves to .1 and a new one is opened; the old descriptor is closed only once
   * the new one is open. Closed first, an open that failed (the folder gone or no longer writable)
   * left #fd naming a closed descriptor, which the process soon reused for something else (a web
   * server's connection): the next trace line was written into it. Now the old file goes on
   * receiving lines, and the rotation is tried again after another maxBytes.
   */
  #rotate(): void {
    try {
      renameSync(this.#path, `${this.#path}.1`);
    } catch {
      // another process rotated it first
    }
    let fd: number;
    try {
      fd = openSync(this.#path, 'a', 0o600);
    } catch {
      this.#size = 0;
      return;
    }
    closeSync(this.#fd);
    this.#fd = fd;
    this.#size = fstatSync(fd).size;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.#unsubscribe();
    closeSync(this.#fd);
  }
}

/**
 * SocketSink: streams lines to a listening dashboard or tail. Subscribed only while a connection is
 * being made or is up: when nobody listens, nothing is subscribed and tracing costs nothing. A
 * long-running process tries again every retryMs; lines beyond maxQueued are dropped, and counted.
 */
class SocketSink implements Sink {
  dropped = 0;
  #path: string;
  #maxQueued: number;
  #retryMs: number;
  #maxUnreadBytes: number;
  #socket: Socket | null = null;
  #connected = false;
  #queue: string[] = [];
  #unsubscribe: (() => void) | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;
  #flushWaiters: Array<() => void> = [];
  /** The batch: lines as UTF-8 in `#chunk` from `#start` to `#used`, and chunks filled before it. */
  #chunk: Buffer | null = null;
  #start = 0;
  #used = 0;
  #filled: Buffer[] = [];
  #batchBytes = 0;
  #timer: NodeJS.Timeout | null = null;
  /**
   * This turn's lines and request groups (request-group.ts), in the order they began, joined and
   * encoded once at its end (setImmediate), while they are still young.
   */
  #turn: Array<string | RequestGroup> = [];
  /**
   * #marks: for each of #turn's items, how many bytes of frames the mirror held when it came: where
   * its line belongs among them. A handler that logs and answers in one turn has its log line
   * between its records, before its END_REQUEST; sent after the frames, `tail` printed the request
   * as done before its log. The wire line says where its next lines go (`at`, wireLineHead), and
   * the reader places them there (reader.ts), so the frames of a request still go in one line.
   */
  #marks: number[] = [];
  /** #wire: which params base this connection has been sent (request-group.ts ParamsWire); new per connection. */
  #wire: ParamsWire = { sent: undefined };
  /**
   * #mirror: the FastCGI traffic captured while connected (wire-mirror.ts), sent as one wire line
   * per batch; before a turn's lines when it has some, so a request's records come before the
   * app's log lines about it.
   */
  #mirror = new WireMirror();
  #endTurn = (): void => {
    const turn = this.#turn;
    if (turn.length === 0) return;
    if (this.#mirror.bytes > 0 && this.#connected) this.#appendWire(this.#marks);
    let text = '';
    for (let i = 0; i < turn.length; i++) {
      const item = turn[i]!;
      text += typeof item === 'string' ? item : groupLine(item, this.#wire);
    }
    this.#turn = [];
    this.#marks.length = 0;
    // Lines of a connection that closed meanwhile are dropped, never written to the next one
    // (they may carry deltas against a base only the closed one was sent).
    if (!this.#connected) {
      this.dropped++;
      return;
    }
    this.#append(text);
    if (this.#batchBytes >= BATCH_BYTES) this.#flushBatch();
    else this.#timer ??= setTimeout(this.#flushBatch, BATCH_MS);
  };

  /**
   * #takeBatch: the turn ended, the mirror's frames in (with `wire`), the timer off; then the
   * batch's bytes as parts to write, taken out of the sink, or null when there are none.
   */
  #takeBatch(wire: boolean): Buffer[] | null {
    this.#endTurn();
    if (wire && this.#mirror.bytes > 0) this.#appendWire();
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#batchBytes === 0) return null;
    const parts = this.#filled;
    if (this.#chunk !== null && this.#used > this.#start) parts.push(this.#chunk.subarray(this.#start, this.#used));
    this.#filled = [];
    this.#start = this.#used;
    this.#batchBytes = 0;
    return parts;
  }

  #flushBatch = (): void => {
    const parts = this.#takeBatch(this.#connected);
    if (parts === null) return;
    if (!this.#socket || !this.#connected) {
      this.dropped++;
      return;
    }
    // A listener that stopped reading (a dashboard suspended with Ctrl-Z): the wire frames reach
    // the batch without #write's bound, and queued here without limit (~13 MB a second under
    // load). The connection is dropped instead, with what was encoded for it (its params base);
    // #onClose counts the loss and a new one is tried after retryMs.
    if (this.#socket.writableLength > this.#maxUnreadBytes) {
      this.dropped++;
      this.#socket.destroy();
      return;
    }
    if (parts.length === 1) {
      this.#socket.write(parts[0]!);
      return;
    }
    this.#socket.cork();
    for (const part of parts) this.#socket.write(part);
    this.#socket.uncork();
  };

  /**
   * #append: a turn's lines into the batch, as bytes at once. Kept as strings for the batch's 20 ms,
   * the lines (ropes of their pieces) outlived young-generation collections: copying them there,
   * then joining and encoding them for the write, cost more than building them (bench/ trace
   * suite, `hello-cpu` group, and the profile of the serving process). Written bytes are never
   * touched again: the chunk is only appended to, and replaced when full.
   */
  /**
   * #appendWire: the mirror's frames as a wire line into the batch (ASCII: base64 in a line of our
   * own). `marks`: where the lines that follow it (this turn's) came among the frames (#marks).
   */
  #appendWire(marks?: readonly number[]): void {
    const at = marks === undefined ? '' : wireMarks(marks, this.#mirror.bytes);
    const b64 = this.#mirror.take();
    const head = wireLineHead(b64.length, process.pid, 'fcgi', at);
    // In one chunk, in three writes (the head as UTF-8: the script's path is in it).
    this.#room(head.length * 3 + b64.length + WIRE_LINE_END.length);
    this.#append(head);
    this.#append(b64, true);
    this.#append(WIRE_LINE_END, true);
  }

  /** #room: the current chunk has room for `n` more bytes (a new one otherwise). */
  #room(n: number): void {
    if (this.#chunk === null || this.#used + n > this.#chunk.length) {
      if (this.#chunk !== null && this.#used > this.#start) this.#filled.push(this.#chunk.subarray(this.#start, this.#used));
      this.#chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, n));
      this.#start = 0;
      this.#used = 0;
    }
  }

  #append(line: string, ascii = false): void {
    this.#room(ascii ? line.length : line.length * 3);
    const chunk = this.#chunk!;
    const n = ascii ? chunk.write(line, this.#used, 'latin1') : chunk.write(line, this.#used);
    this.#used += n;
    this.#batchBytes += n;
  }

  constructor(path: string, maxQueued: number, retryMs: number, maxUnreadBytes: number) {
    this.#path = path;
    this.#maxQueued = maxQueued;
    this.#retryMs = retryMs;
    this.#maxUnreadBytes = maxUnreadBytes;
    this.#mirror.onData = () => {
      this.#timer ??= setTimeout(this.#flushBatch, BATCH_MS);
    };
    this.#mirror.onFull = () => {
      // This turn's lines go with the frames they came among (#marks), not after later ones.
      if (this.#turn.length > 0) this.#endTurn();
      else if (this.#connected) this.#appendWire();
      if (this.#batchBytes >= BATCH_BYTES) this.#flushBatch();
    };
    this.#connect();
  }

  #connect(): void {
    this.#retry = null;
    if (this.#closed) return;
    // No socket file, no listener: no socket made and no subscription while it fails, only a stat
    // until the next try (a connect attempt subscribed the process to the trace channel for a turn
    // every retryMs; bench/README.md, trace, "Seventh session": nobody listening).
    if (!existsSync(this.#path)) {
      this.#retryLater();
      return;
    }
    const socket = connect(this.#path);
    this.#socket = socket;
    this.#unsubscribe ??= subscribe((m) => this.#write(m));
    socket.unref(); // the trace connection never keeps a process alive
    socket.on('connect', () => {
      this.#connected = true;
      this.#wire = { sent: undefined };
      this.#mirror.clear();
      setMirror(this.#mirror);
      const queued = this.#queue.join('');
      this.#queue = [];
      if (queued) socket.write(queued);
      this.#checkFlushed();
    });
    socket.on('drain', () => this.#checkFlushed());
    socket.on('error', () => {});
    socket.on('close', () => this.#onClose());
  }

  #onClose(): void {
    this.#connected = false;
    this.#socket = null;
    setMirror(null);
    this.#mirror.clear();
    // The batch was encoded for this connection (params deltas against what it was sent).
    if (this.#batchBytes > 0) this.dropped++;
    this.#filled = [];
    this.#start = this.#used;
    this.#batchBytes = 0;
    this.dropped += this.#queue.length;
    this.#queue = [];
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const fn of waiters) fn();
    if (!this.#closed) this.#retryLater();
  }

  #retryLater(): void {
    this.#retry = setTimeout(() => this.#connect(), this.#retryMs);
    this.#retry.unref();
  }

  #write(message: TraceMessage): void {
    if (this.#connected && this.#socket) {
      // A dashboard that cannot keep up: drop rather than grow without bound.
      if (this.#socket.writableLength > 8 * 1024 * 1024) {
        this.dropped++;
        return;
      }
      // Lines are gathered for BATCH_MS (or BATCH_BYTES) and written at once: per-line writes
      // made an attached listener cost more than half, and one write per event loop turn was
      // still about one write syscall per request in this process and one read in the listener's
      // (bench/ trace suite, `hello-cpu` group). A dashboard does not need the lines sooner;
      // flush() (CGI's exit) writes them at once. A request's notes of one turn become one line
      // (request-group.ts; notes.ts says why).
      if (this.#turn.length === 0) setImmediate(this.#endTurn);
      if (!isNote(message) || message.rid === undefined) {
        this.#push(serialize(message));
        return;
      }
      let group = this.#groupOf(message.rid);
      if (group === undefined) {
        group = new RequestGroup(message);
        this.#push(group);
      }
      if (!group.add(message)) this.#push(serialize(message));
      return;
    }
    if (this.#queue.length >= this.#maxQueued) {
      this.dropped++;
      return;
    }
    this.#queue.push(serialize(message));
  }

  /** #push: an item into this turn, with where it came among the mirror's frames (#marks). */
  #push(item: string | RequestGroup): void {
    this.#turn.push(item);
    this.#marks.push(this.#mirror.bytes);
  }

  /**
   * #groupOf: this turn's group of `rid`, searched from the end: a request's events come one after
   * another (its data event, then the ticks and microtasks that run right after it), so the
   * search nearly always stops at the last item. Not a Map cleared every turn: Map#clear links the
   * old table to the new one, and once a table had been promoted each following one (with every
   * group and note in it) was kept alive by its dead predecessor until a full GC, which made
   * scavenges four times slower (--trace-gc-nvp: ~1.2 MB surviving each scavenge instead of ~0.1).
   */
  #groupOf(rid: string): RequestGroup | undefined {
    const turn = this.#turn;
    // Bounded: a turn holding thousands of requests (a multiplexing client) must not cost a search
    // through all of them per note; past the bound a request just starts another line.
    const stop = Math.max(0, turn.length - GROUP_SEARCH);
    for (let i = turn.length - 1; i >= stop; i--) {
      const item = turn[i]!;
      // A line came after the group began (an app log, an error): the request's later notes go
      // in a group after it, so its end is not read before what its handler logged.
      if (typeof item === 'string') return undefined;
      if (item.first.rid === rid) return item;
    }
    return undefined;
  }

  #checkFlushed(): void {
    if (this.#socket && this.#connected && this.#socket.writableLength === 0 && this.#queue.length === 0 && this.#batchBytes === 0 && this.#turn.length === 0
      && this.#mirror.bytes === 0) {
      const waiters = this.#flushWaiters;
      this.#flushWaiters = [];
      for (const fn of waiters) fn();
    }
  }

  flush(timeoutMs: number): Promise<void> {
    this.#flushBatch();
    if (!this.#socket) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#flushWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#checkFlushed();
    });
  }

  /**
   * flushSync: the batch, this turn's lines and the mirror's frames written at once with a
   * synchronous write to the socket's descriptor (Node has no synchronous socket write; `_handle.fd`
   * is how its own stdio reaches the descriptor). Only when nothing of an earlier write is still
   * queued: a write of ours in the middle of a queued line would garble both. A Unix socket's
   * buffer takes a batch's worth; what it does not take is dropped, and counted.
   */
  flushSync(): void {
    const socket = this.#socket;
    if (!this.#connected) {
      this.#sendQueued();
      return;
    }
    if (socket === null || socket.writableLength > 0) return;
    const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return;
    const parts = this.#takeBatch(true);
    if (parts === null) return;
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    } catch {
      this.dropped++; // EAGAIN: the listener's buffer is full
    }
  }

  /**
   * #sendQueued: the lines queued before the connection was made, handed to a child process that
   * makes it (a process exiting has no turn left to connect in; spawnSync waits). A CGI hit whose
   * app calls process.exit() in its handler exits before its connect completes: everything it
   * traced was in the queue. Only when a listener's socket file is there; bounded by a timeout.
   */
  #sendQueued(): void {
    if (this.#queue.length === 0 || !existsSync(this.#path)) return;
    const input = this.#queue.join('');
    this.#queue = [];
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const copy = 'const s=require("node:net").connect(process.argv[1]);s.on("error",()=>process.exit(1));process.stdin.pipe(s);';
    const r = spawnSync(process.execPath, ['-e', copy, this.#path], { input, stdio: ['pipe', 'ignore', 'ignore'], timeout: 2000 });
    if (r.status !== 0) this.dropped++;
  }

  close(): void {
    this.#closed = true;
    this.#flushBatch();
    if (this.#retry) clearTimeout(this.#retry);
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#socket?.end();
  }
}

/**
 * wireMarks: a wire line's `at` field (`,"at":[...]`), or '' when every line after it came after
 * all its `frames` bytes (nothing to place: the usual case under load, when frames of turns
 * without lines come first). Marks past the last one inside the frames are left out: the lines
 * they stand for follow in order anyway.
 */
export function wireMarks(marks: readonly number[], frames: number): string {
  let n = marks.length;
  while (n > 0 && marks[n - 1]! >= frames) n--;
  return n === 0 ? '' : `,"at":[${marks.slice(0, n).join(',')}]`;
}
