/**
 * The wire mirror's masks on their own (they were tested only through a mirror fed a cookie, an
 * authorization and a Set-Cookie): every secret name, in any case, with long (4-byte) lengths
 * around it, and streams or heads that stop short.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodePairs } from '../../src/protocol';
import { MASK_BYTE } from '../../src/trace/wire-format';
import { hasSecretName, headEnd, maskHead, maskParams } from '../../src/trace/wire-redact';
import { SECRET_HEADERS, SECRET_PARAMS } from './secrets-fixture';

const STAR = String.fromCharCode(MASK_BYTE);

/** masked: `text` masked by maskHead as it would be in a frame (at an offset, bytes around it), and maskHead's answer. */
function masked(text: string, complete = true): { out: string; masked: boolean; around: string } {
  const buf = Buffer.from(`<<${text}>>`, 'latin1');
  const r = maskHead(buf, 2, buf.length - 2, complete);
  const all = buf.toString('latin1');
  return { out: all.slice(2, -2), masked: r, around: all.slice(0, 2) + all.slice(-2) };
}

describe('wire-redact', () => {
  it('maskHead overwrites the value of every secret header line, in any case, and nothing else', () => {
    for (const name of SECRET_HEADERS) {
      for (const spelled of [name, name.toLowerCase(), name.toUpperCase()]) {
        const head = `Status: 200 OK\r\nContent-Type: text/plain\r\n${spelled}: s3cret=1; Path=/\r\nX-After: kept\r\n\r\n`;
        const r = masked(head);
        assert.equal(r.masked, true, spelled);
        assert.equal(r.out, head.replace('s3cret=1; Path=/', `${STAR.repeat(9)} ${STAR.repeat(6)}`), spelled);
        assert.equal(r.around, '<<>>');
      }
    }
    const plain = 'Status: 200 OK\r\nX-Cookie: a\r\nSet-Cookie2: b\r\nCookies: c\r\n\r\n';
    assert.deepEqual(masked(plain), { out: plain, masked: false, around: '<<>>' });
  });

  it('maskHead masks a secret line cut by the end of what is sent, up to that end', () => {
    const r = masked('Status: 200 OK\r\nSet-Cookie: s3cret', false);
    assert.equal(r.out, `Status: 200 OK\r\nSet-Cookie: ${STAR.repeat(6)}`);
    assert.equal(r.masked, true);
    assert.equal(r.around, '<<>>');
  });

  it('maskHead never takes a head it masked for the last clean one', () => {
    const secret = 'Status: 200 OK\r\nCookie: zz\r\n\r\n';
    assert.equal(masked(secret).masked, true);
    assert.equal(masked(secret).masked, true); // and again: nothing remembered it as clean
    const clean = 'Status: 200 OK\r\nX-Cook: zz\r\n\r\n';
    assert.equal(masked(clean).masked, false);
    assert.equal(masked(clean).masked, false);
    assert.equal(masked(secret).masked, true);
  });

  it('maskHead remembers only a whole clean head: headEnd never takes the start of a head for all of it', () => {
    const start = 'Status: 200 OK\r\nX-A: 1\r\n';
    assert.equal(masked(start, false).masked, false); // the first bytes of a head that goes on
    const whole = Buffer.from(`${start}Set-Cookie: s3cret\r\n\r\n`, 'latin1');
    assert.equal(headEnd(whole, 0, whole.length, 8192), whole.length);
  });

  it('headEnd counts a head up to and with its blank line, and says when it goes on or passes the limit', () => {
    const buf = Buffer.from('xxStatus: 204 No Content\r\nA: b\r\n\r\nbody', 'latin1');
    const head = 'Status: 204 No Content\r\nA: b\r\n\r\n'.length;
    assert.equal(headEnd(buf, 2, buf.length, 8192), head);
    assert.equal(headEnd(buf, 2, 2 + head, 8192), head); // a head written alone (flushHeaders, a 204)
    assert.equal(headEnd(buf, 2, 2 + head - 1, 8192), -(head - 1)); // the blank line is not all here
    assert.equal(headEnd(buf, 2, buf.length, head), head); // as long as the limit: whole
    assert.equal(headEnd(buf, 2, buf.length, head - 1), -(head - 1)); // longer than the limit: cut there
  });

  it('maskParams overwrites the value of every secret param, with long names and values before and after it', () => {
    for (const name of SECRET_PARAMS) {
      const long = 'L'.repeat(200);
      const pairs: Array<[string, string]> = [
        ['HTTP_HOST', 'example.test'], [`HTTP_X_${long}`, 'short'], ['HTTP_X', long],
        [name, 's3cret'], [name, `s3cret-${long}`], ['N'.repeat(127), 'v'], [name, 'x'.repeat(127)], [name, 'y'.repeat(128)],
        ['HTTP_USER_AGENT', 'ua'],
      ];
      const bytes = encodePairs(pairs);
      const buf = Buffer.concat([Buffer.from('<<'), bytes, Buffer.from('>>')]);
      maskParams(buf, 2, buf.length - 2);
      const expected = encodePairs(pairs.map(([n, v]): [string, string] => [n, n === name ? STAR.repeat(v.length) : v]));
      assert.equal(buf.toString('latin1'), `<<${expected.toString('latin1')}>>`, name);
    }
    assert.equal(hasSecretName(['HTTP_HOST', ...SECRET_PARAMS.slice(-1)]), true);
    for (const name of SECRET_PARAMS) assert.equal(hasSecretName(['A', name, 'B']), true, name);
    assert.equal(hasSecretName(['HTTP_HOST', 'HTTP_COOKIES']), false);
  });

  it('maskParams stops at a pair the range ends inside, and never touches a byte past the range or throws', () => {
    const bytes = encodePairs([['HTTP_COOKIE', 's3cret'], ['X'.repeat(200), 'y'.repeat(300)]]);
    const first = encodePairs([['HTTP_COOKIE', 's3cret']]).length;
    for (let to = 0; to < bytes.length; to++) {
      const buf = Buffer.from(bytes);
      maskParams(buf, 0, to);
      const want = Buffer.from(bytes);
      if (to >= first) want.fill(MASK_BYTE, first - 6, first);
      assert.deepEqual(buf, want, `cut at ${to}`);
      const alone = Buffer.from(bytes.subarray(0, to)); // the range is the whole buffer: no read past its end
      maskParams(alone, 0, to);
      assert.deepEqual(alone, want.subarray(0, to), `alone, cut at ${to}`);
    }
  });
});
