/**
 * CgiExchange in this process, on a stdin and a stdout of the test's own: what the body sink gets,
 * when the hit counts as done, and what it reports. A mutation audit found these untested (the
 * runner's tests hit a child process, where a CGI_ERR_* code in stderr or a byte count never shows).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { CgiError } from '../../src/cgi/errors';
import { bodyPlan, CgiExchange } from '../../src/cgi/runner';
import type { StdoutWriter } from '../../src/cgi/stdout-guard';

/** Out: a stdout that takes every write at once and keeps it. */
class Out implements StdoutWriter {
  readonly chunks: Buffer[] = [];
  write(chunk: Buffer, cb: (err?: Error | null) => void): boolean {
    this.chunks.push(Buffer.from(chunk));
    setImmediate(() => cb());
    return true;
  }
  once(): void {}
}

/** sinkLog: a body sink that logs what it gets. */
function sinkLog(events: string[]) {
  return {
    data: (c: Buffer): boolean => { events.push(`data ${c.toString()}`); return true; },
    end: (): void => { events.push('end'); },
    error: (e: Error): void => { events.push(`error ${(e as CgiError).code} ${(e as CgiError).status}`); },
  };
}

function exchange(plan: ReturnType<typeof bodyPlan>, stdin: PassThrough, done: (s: number) => void = () => {}): CgiExchange {
  return new CgiExchange(new Map(), plan, new Out(), done, stdin as unknown as NodeJS.ReadStream);
}
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('CgiExchange (in process)', () => {
  it('plans no body without CONTENT_LENGTH or a chunked Transfer-Encoding, and one to EOF with it', () => {
    assert.equal(bodyPlan(new Map(), undefined), null);
    assert.equal(bodyPlan(new Map([['HTTP_TRANSFER_ENCODING', 'gzip']]), undefined), null);
    assert.deepEqual(bodyPlan(new Map([['HTTP_TRANSFER_ENCODING', 'Chunked']]), undefined), { length: undefined });
    assert.equal(bodyPlan(new Map(), 0), null);
    assert.deepEqual(bodyPlan(new Map(), 5), { length: 5 });
  });

  it('reads a chunked body to EOF as a whole body, counts its bytes, and says when it is done', async () => {
    const stdin = new PassThrough();
    const ex = exchange({ length: undefined }, stdin);
    const events: string[] = [];
    let bodyDone = 0;
    ex.whenBodyDone(() => bodyDone++);
    ex.startBody(sinkLog(events));
    stdin.end('chunked upload');
    await tick();
    await tick();
    assert.deepEqual(events, ['data chunked upload', 'end']);
    assert.equal(ex.bytesIn, 14);
    assert.equal(bodyDone, 1);
    assert.equal(ex.bodyDone, true);
  });

  it('fails a body that stdin ends short with CGI_ERR_BODY_TRUNCATED (400), once, and says the body is done', async () => {
    const stdin = new PassThrough();
    const ex = exchange({ length: 10 }, stdin);
    const events: string[] = [];
    let bodyDone = 0;
    ex.whenBodyDone(() => bodyDone++);
    ex.startBody(sinkLog(events));
    stdin.end('abc');
    await tick();
    await tick();
    assert.deepEqual(events, ['data abc', 'error CGI_ERR_BODY_TRUNCATED 400']);
    assert.equal(ex.bytesIn, 3);
    assert.equal(bodyDone, 1);
    assert.equal(ex.bodyDone, true);
  });

  it('counts only CONTENT_LENGTH bytes in, ends the body at them, and tells whenBodyDone listeners, late ones at once', async () => {
    const stdin = new PassThrough();
    const ex = exchange({ length: 4 }, stdin);
    const events: string[] = [];
    ex.startBody(sinkLog(events));
    stdin.write('abcdefgh');
    await tick();
    assert.deepEqual(events, ['data abcd', 'end']);
    assert.equal(ex.bytesIn, 4);
    let late = 0;
    ex.whenBodyDone(() => late++);
    assert.equal(late, 1);
  });

  it('is done once every write has been handed to stdout after end, with the end callback first', async () => {
    const order: string[] = [];
    const stdin = new PassThrough();
    const ex = new CgiExchange(new Map(), null, new Out(), (status) => order.push(`done ${status}`), stdin as unknown as NodeJS.ReadStream);
    ex.write(Buffer.from('Status: 201 Created\r\n\r\n'), () => order.push('write'));
    ex.end(() => order.push('end'), 0);
    assert.equal(ex.headStatus, 201);
    assert.deepEqual(order, ['write']);
    await tick();
    assert.deepEqual(order, ['write', 'end', 'done 0']);
    ex.end(() => order.push('second end'));
    assert.deepEqual(order, ['write', 'end', 'done 0', 'second end']);
  });

  it('writes nothing to stdout once ended, and still calls back', async () => {
    const out = new Out();
    const ex = new CgiExchange(new Map(), null, out, () => {});
    ex.write(Buffer.from('Status: 200 OK\r\n\r\nok'), () => {});
    ex.end();
    let called = false;
    ex.write(Buffer.from('late'), () => { called = true; });
    await tick();
    assert.equal(called, true);
    assert.equal(Buffer.concat(out.chunks).toString(), 'Status: 200 OK\r\n\r\nok');
  });

  it('tells abort listeners when a write to stdout fails (EPIPE), and the hit ends failed', async () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    const failing: StdoutWriter = { write: (_c, cb) => { setImmediate(() => cb(epipe)); return true; }, once: () => {} };
    const done: number[] = [];
    const ex = new CgiExchange(new Map(), null, failing, (s) => done.push(s));
    const aborted: Error[] = [];
    ex.onAbort((reason) => aborted.push(reason));
    ex.onAbort({ abort: (reason: Error) => aborted.push(reason) });
    ex.write(Buffer.from('Status: 200 OK\r\n\r\n'), () => {});
    ex.end();
    await tick();
    assert.deepEqual(aborted, [epipe, epipe]);
    assert.equal(ex.aborted, true);
    assert.deepEqual(done, [1]);
  });
});
