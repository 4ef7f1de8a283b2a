/**
 * FcgiRequest on a fake connection: what reaches the app's body sink and when the connection is
 * told to pause or resume reading, one call at a time. A mutation audit found each of these
 * behaviours untested (through real sockets the socket buffers hide them): see each test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionError } from '../../src/fastcgi/errors';
import { FcgiRequest, type RequestTransport } from '../../src/fastcgi/request';
import { RecordType } from '../../src/protocol';

/** FakeConnection: records what a request asks of its connection. */
class FakeConnection implements RequestTransport {
  readonly calls: string[] = [];
  paused = false;
  writeStream(type: RecordType.Stdout | RecordType.Stderr, _id: number, chunk: Buffer): boolean {
    this.calls.push(`${type === RecordType.Stdout ? 'stdout' : 'stderr'} ${chunk.toString()}`);
    return true;
  }
  writeText(_type: RecordType.Stdout | RecordType.Stderr, _id: number, text: string): boolean {
    this.calls.push(`text ${text}`);
    return true;
  }
  endRequest(_r: FcgiRequest, appStatus: number, _p: number, cb?: (err?: Error | null) => void): void {
    this.calls.push(`end ${appStatus}`);
    cb?.();
  }
  breakRequest(): void { this.calls.push('break'); }
  onDrain(cb: () => void): void { cb(); }
  pauseFor(): void { this.paused = true; this.calls.push('pause'); }
  resumeFor(): void { this.paused = false; this.calls.push('resume'); }
}

/** Sink: what the app's body sink got; `accept` says what data() answers (false: pause). */
class Sink {
  readonly events: string[] = [];
  accept = true;
  data = (c: Buffer): boolean => { this.events.push(`data ${c.toString()}`); return this.accept; };
  end = (): void => { this.events.push('end'); };
  error = (e: Error): void => { this.events.push(`error ${(e as ConnectionError).code} ${(e as ConnectionError).status}`); };
}

function request(conn = new FakeConnection(), maxBodyBytes = Infinity): { req: FcgiRequest; conn: FakeConnection } {
  return { req: new FcgiRequest(conn, 1, 'RESPONDER', true, 1 << 16, maxBodyBytes), conn };
}
const b = (s: string): Buffer => Buffer.from(s);

describe('FcgiRequest body (on a fake connection)', () => {
  it('keeps the STDIN of each request that is held before its app reads apart (no list shared between requests)', () => {
    const one = request().req;
    const two = request().req;
    one.pushBody(b('one-a'));
    one.pushBody(b('one-b'));
    two.pushBody(b('two'));
    const sinkTwo = new Sink();
    two.startBody(sinkTwo);
    two.pushBody(b(''));
    assert.deepEqual(sinkTwo.events, ['data two', 'end']);
    const sinkOne = new Sink();
    one.startBody(sinkOne);
    one.pushBody(b(''));
    assert.deepEqual(sinkOne.events, ['data one-a', 'data one-b', 'end']);
    const three = request().req; // a request made after them starts with nothing held
    const sinkThree = new Sink();
    three.startBody(sinkThree);
    three.pushBody(b(''));
    assert.deepEqual(sinkThree.events, ['end']);
  });

  it('pauses the connection when the sink asks, holds what comes next, and resumes only once the app has taken it all', () => {
    const { req, conn } = request();
    const sink = new Sink();
    sink.accept = false;
    req.startBody(sink);
    req.pushBody(b('a'));
    assert.deepEqual([sink.events, conn.calls], [['data a'], ['pause']]);
    req.pushBody(b('b')); // read before the pause took effect: held
    req.pushBody(b('c'));
    assert.deepEqual(sink.events, ['data a']);
    req.resumeBody(); // the sink still answers false: one chunk, and the connection stays paused
    assert.deepEqual(sink.events, ['data a', 'data b']);
    assert.equal(conn.paused, true);
    assert.deepEqual(conn.calls.filter((c) => c === 'resume'), []);
    sink.accept = true;
    req.resumeBody();
    assert.deepEqual(sink.events, ['data a', 'data b', 'data c']);
    assert.equal(conn.paused, false);
    req.pushBody(b(''));
    assert.deepEqual(sink.events.at(-1), 'end');
  });

  it('pauses the connection when held STDIN passes 256 KiB before the app reads, and resumeBody before startBody loses nothing', () => {
    const { req, conn } = request();
    const chunk = Buffer.alloc(100 * 1024, 0x61);
    for (let i = 0; i < 3; i++) req.pushBody(chunk);
    assert.equal(conn.paused, true);
    assert.doesNotThrow(() => req.resumeBody());
    const sink = new Sink();
    req.startBody(sink);
    req.pushBody(b(''));
    assert.equal(sink.events.length, 4);
    assert.equal(sink.events.at(-1), 'end');
    assert.equal(conn.paused, false);
  });

  it('resumes a paused connection when a body over maxBodyBytes is refused (its other requests go on)', () => {
    const { req, conn } = request(new FakeConnection(), 10);
    const sink = new Sink();
    sink.accept = false;
    req.startBody(sink);
    req.pushBody(b('12345'));
    assert.equal(conn.paused, true);
    req.pushBody(b('678901'));
    assert.deepEqual(sink.events, ['data 12345', 'error FCGI_ERR_BODY_TOO_LARGE 413']);
    assert.equal(conn.paused, false, 'the connection reads again');
  });

  it('fails the body at startBody when it went over maxBodyBytes before the app read it', () => {
    const { req } = request(new FakeConnection(), 10);
    req.pushBody(b('12345'));
    req.pushBody(b('678901'));
    req.pushBody(b(''));
    const sink = new Sink();
    req.startBody(sink);
    assert.deepEqual(sink.events, ['error FCGI_ERR_BODY_TOO_LARGE 413']);
  });

  it('gives nothing of STDIN to an app whose CONTENT_LENGTH is 0', () => {
    const { req } = request();
    const sink = new Sink();
    req.startBody(sink, 0);
    req.pushBody(b('stray bytes'));
    req.pushBody(b(''));
    assert.deepEqual(sink.events, ['end']);
  });

  it('gives nothing after the body ended or the request was aborted, and ends a body once', () => {
    const ended = request().req;
    const sink = new Sink();
    ended.startBody(sink);
    ended.pushBody(b('x'));
    ended.pushBody(b(''));
    ended.pushBody(b('late'));
    ended.pushBody(b(''));
    ended.resumeBody();
    assert.deepEqual(sink.events, ['data x', 'end']);

    const cut = request().req;
    const sink2 = new Sink();
    cut.startBody(sink2, 3);
    cut.pushBody(b('abc')); // the declared length is in: the body ends here
    cut.pushBody(b(''));
    cut.resumeBody();
    assert.deepEqual(sink2.events, ['data abc', 'end']);

    const { req: aborted, conn } = request();
    const sink3 = new Sink();
    aborted.startBody(sink3);
    aborted.pushBody(b('a'));
    aborted.abort(new ConnectionError('FCGI_ERR_ABORTED', 'aborted by the web server'), true);
    aborted.pushBody(b('after'));
    aborted.pushBody(b(''));
    assert.deepEqual(sink3.events, ['data a']);
    assert.deepEqual(conn.calls, ['end 0']);
  });

  it('writes nothing once ended, and still calls every callback', () => {
    const { req, conn } = request();
    const called: string[] = [];
    req.write(b('body'), () => called.push('write'));
    req.end(() => called.push('end'));
    req.write(b('late'), () => called.push('late write'));
    req.writeText('late text', 'utf8', () => called.push('late text'));
    req.writeStderr('late stderr');
    req.end(() => called.push('second end'));
    assert.deepEqual(conn.calls, ['stdout body', 'end 0']);
    assert.deepEqual(called, ['write', 'end', 'late write', 'late text', 'second end']);
  });
});
