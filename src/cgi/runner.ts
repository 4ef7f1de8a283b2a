import type { AbortListener, BodySink, Exchange } from '../handlers/exchange';
import { newRid } from '../trace/channel';
import { originalStderrWrite } from '../trace/stdio';
import { CgiError } from './errors';
import type { Params } from './params';
import type { StdoutWriter } from './stdout-guard';

/** CgiBody: how much of stdin is the request body (RFC 3875 4.2). */
export interface CgiBodyPlan {
  /** length: CONTENT_LENGTH, or undefined to read until EOF (chunked uploads under Apache). */
  length: number | undefined;
}

/** bodyPlan: no CONTENT_LENGTH and no Transfer-Encoding means no body at all (stdin may be /dev/null or a socket). */
export function bodyPlan(params: Params, contentLength: number | undefined): CgiBodyPlan | null {
  if (contentLength !== undefined) return contentLength === 0 ? null : { length: contentLength };
  const te = params.get('HTTP_TRANSFER_ENCODING');
  return te !== undefined && te.toLowerCase().includes('chunked') ? { length: undefined } : null;
}

/**
 * CgiExchange: one CGI request in this process: params from the environment, the body from stdin,
 * the response to the guarded stdout. `whenDone` runs after the last byte was handed to stdout.
 */
export class CgiExchange implements Exchange {
  readonly mode = 'cgi' as const;
  readonly role = 'RESPONDER' as const;
  readonly requestId = 0;
  readonly params: Params;
  readonly rid = newRid();
  bytesIn = 0;
  bytesOut = 0;
  #plan: CgiBodyPlan | null;
  /** #stdin: process.stdin unless a test passes its own; see #input(). */
  #stdin: NodeJS.ReadStream | undefined;
  #out: StdoutWriter;
  #pendingWrites = 0;
  #ended = false;
  #aborted = false;
  #bodyDone = false;
  #endCb: ((err?: Error | null) => void) | undefined;
  #done = false;
  #bodyDoneListeners: Array<() => void> = [];
  #abortListeners: AbortListener[] = [];
  #whenDone: (appStatus: number) => void;
  #appStatus = 0;
  /** #writeError: a response write failed (see #writeFailed). */
  #writeError = false;
  /** #forcedEnd: see onForcedEnd. */
  #forcedEnd: ((status: number) => void) | null = null;
  /** headStatus: the status of the response head written, from its `Status:` line (undefined before one). */
  headStatus: number | undefined = undefined;

  constructor(params: Params, plan: CgiBodyPlan | null, out: StdoutWriter, whenDone: (appStatus: number) => void,
    stdin?: NodeJS.ReadStream) {
    this.params = params;
    this.#plan = plan;
    this.#out = out;
    this.#stdin = stdin;
    this.#whenDone = whenDone;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** ended: end() was called: the response is complete (or ended failed). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * #input: process.stdin on first use. Speed: the process.stdin getter builds a stream (a
   * net.Socket for Apache's pipe, an fs.ReadStream for /dev/null), which a GET never reads
   * (bench/ cgi suite, "dispatch.cgi (plain app)").
   */
  #input(): NodeJS.ReadStream {
    this.#stdin ??= process.stdin;
    return this.#stdin;
  }

  /** bodyDone: the whole body was read (or there was none): stdin is drained. */
  get bodyDone(): boolean {
    return this.#bodyDone || this.#plan === null;
  }

  startBody(sink: BodySink): void {
    const plan = this.#plan;
    if (plan === null) {
      this.#bodyDone = true;
      sink.end();
      return;
    }
    let remaining = plan.length ?? Infinity;
    const stdin = this.#input();
    const finish = (): void => {
      if (this.#bodyDone) return;
      this.#bodyDone = true;
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      sink.end();
      this.#notifyBodyDone();
    };
    const onData = (chunk: Buffer): void => {
      const take = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= take.length;
      this.bytesIn += take.length;
      const more = sink.data(take);
      if (remaining === 0) finish();
      else if (!more) stdin.pause();
    };
    const onEnd = (): void => {
      if (remaining !== Infinity && remaining > 0) {
        this.#bodyDone = true;
        this.#notifyBodyDone();
        sink.error(new CgiError('CGI_ERR_BODY_TRUNCATED', `stdin ended ${remaining} bytes before CONTENT_LENGTH`, 400));
        return;
      }
      finish();
    };
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', (err) => sink.error(err));
  }

  resumeBody(): void {
    if (!this.#bodyDone) this.#input().resume();
  }

  write(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.#ended) {
      cb();
      return;
    }
    // The adapters' heads start with `Status: NNN` (cgi/response-head, handlers/cgi-head-memo).
    if (this.bytesOut === 0 && chunk.length >= 11 && chunk.toString('latin1', 0, 8) === 'Status: ') {
      this.headStatus = Number(chunk.toString('latin1', 8, 11)) || undefined;
    }
    this.bytesOut += chunk.length;
    this.#pendingWrites++;
    const ok = this.#out.write(chunk, (err) => {
      this.#pendingWrites--;
      if (err) this.#writeFailed(err);
      this.#maybeDone();
    });
    if (ok) cb();
    else this.#out.once('drain', () => cb());
  }

  end(cb?: (err?: Error | null) => void, appStatus = 0): void {
    if (this.#ended) {
      cb?.();
      return;
    }
    this.#ended = true;
    this.#appStatus = appStatus;
    this.#endCb = cb;
    this.#maybeDone();
  }

  /** #maybeDone: every write callback has fired after end(): the response is out. */
  #maybeDone(): void {
    if (!this.#ended || this.#pendingWrites > 0 || this.#done) return;
    this.#done = true;
    this.#endCb?.();
    this.#whenDone(this.#writeError ? 1 : this.#appStatus);
  }

  onForcedEnd(fn: (status: number) => void): void {
    this.#forcedEnd = fn;
  }

  /** forcedEnd: the hit is being ended outside the adapters, the web server having got `status` (launch/dispatch). */
  forcedEnd(status: number): void {
    const fn = this.#forcedEnd;
    this.#forcedEnd = null;
    fn?.(status);
  }

  /** whenBodyDone: `fn` runs once stdin has been read to the end of the body (at once if it has). */
  whenBodyDone(fn: () => void): void {
    if (this.bodyDone) fn();
    else this.#bodyDoneListeners.push(fn);
  }

  #notifyBodyDone(): void {
    const listeners = this.#bodyDoneListeners;
    this.#bodyDoneListeners = [];
    for (const fn of listeners) fn();
  }

  writeStderr(chunk: string | Buffer): void {
    originalStderrWrite(chunk); // dualcgi's own diagnostics are not app output
  }

  onAbort(fn: AbortListener): void {
    this.#abortListeners.push(fn);
  }

  /**
   * #writeFailed: a response write failed (EPIPE: the web server closed stdout, its client went
   * away). The hit ends failed (exit 1), with a line for the error log, whatever the adapter says
   * after: a response the app had already ended (or ended just after) exited 0 as if served.
   */
  #writeFailed(err: Error): void {
    if (this.#writeError) return;
    this.#writeError = true;
    originalStderrWrite(`dualcgi: the response was not written whole: ${err.message}\n`);
    this.#abort(err);
  }

  /** #abort: stdout failed (EPIPE: the web server is gone). */
  #abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    // Not handlers/exchange's callAbortListener: a CGI hit loads no module it does not need.
    for (const fn of this.#abortListeners) {
      if (typeof fn === 'function') fn(reason);
      else fn.abort(reason);
    }
  }
}
