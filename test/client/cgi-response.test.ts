import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatHttpLike, parseCgiResponse } from '../../src/client/cgi-response';
import { isClientError } from '../../src/client/errors';

function parse(text: string): ReturnType<typeof parseCgiResponse> {
  return parseCgiResponse(Buffer.from(text, 'latin1'));
}

describe('parseCgiResponse', () => {
  it('reads Status, headers in order, and the body (CRLF)', () => {
    const r = parse('Status: 404 Not Here\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nnope\r\n\r\nmore');
    assert.equal(r.status, 404);
    assert.equal(r.statusText, 'Not Here');
    assert.equal(r.kind, 'document');
    assert.deepEqual(r.headers, [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]);
    assert.equal(r.body.toString('latin1'), 'nope\r\n\r\nmore');
  });

  it('accepts LF line ends and defaults to 200 OK', () => {
    const r = parse('Content-Type: text/html\n\n<p>hi</p>\n');
    assert.equal(r.status, 200);
    assert.equal(r.statusText, 'OK');
    assert.equal(r.body.toString(), '<p>hi</p>\n');
    assert.equal(r.headBytes, 'Content-Type: text/html\n\n'.length);
  });

  it('fills in the reason phrase when Status has only a code', () => {
    const r = parse('status: 503\r\n\r\n');
    assert.equal(r.status, 503);
    assert.equal(r.statusText, 'Service Unavailable');
    assert.equal(r.body.length, 0);
  });

  it('treats Location with an absolute URI and no Status as a 302 client redirect', () => {
    const r = parse('Location: https://example.org/\r\n\r\n');
    assert.equal(r.status, 302);
    assert.equal(r.kind, 'client-redirect');
  });

  it('keeps an explicit Status with Location', () => {
    const r = parse('Status: 301 Moved Permanently\r\nLocation: https://example.org/\r\n\r\n');
    assert.equal(r.status, 301);
    assert.equal(r.kind, 'client-redirect');
  });

  it('recognises a local redirect (a Location path)', () => {
    const r = parse('Location: /other\n\n');
    assert.equal(r.kind, 'local-redirect');
    assert.equal(r.status, 200);
  });

  it('joins an obs-fold continuation line to the previous header', () => {
    const r = parse('X-Long: one\r\n two\r\n\r\n');
    assert.deepEqual(r.headers, [['X-Long', 'one two']]);
  });

  it('keeps body bytes exactly, including non-UTF-8 bytes', () => {
    const body = Buffer.from([0xff, 0x00, 0x0a, 0x0d, 0x0a]);
    const r = parseCgiResponse(Buffer.concat([Buffer.from('Status: 200 OK\r\n\r\n'), body]));
    assert.deepEqual(r.body, body);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['nothing at all', '', /wrote nothing/],
    ['a head without the blank line', 'Status: 200 OK\r\nContent-Type: text/plain\r\n', /no blank line/],
    ['no line end at all', 'hello', /no blank line/],
    ['an HTTP status line', 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n', /HTTP status line/],
    ['a line without a colon', 'Content-Type text/plain\r\n\r\n', /malformed header line/],
    ['a space before the colon', 'Content-Type : text/plain\r\n\r\n', /malformed header line/],
    ['a bad Status', 'Status: OK\r\n\r\n', /bad Status header/],
    ['a body straight away', '<html>\n\n', /malformed header line/],
  ];
  for (const [name, text, message] of bad) {
    it(`emits CLIENT_ERR_BAD_HEAD for ${name}`, () => {
      assert.throws(() => parse(text), (err: unknown) => {
        assert.ok(isClientError(err, 'CLIENT_ERR_BAD_HEAD'), String(err));
        assert.match(err.message, message);
        return true;
      });
    });
  }
});

describe('formatHttpLike', () => {
  it('prints a status line, the headers and the body', () => {
    const r = parse('Status: 201 Created\nContent-Type: text/plain\nX-A: 1\n\nbody');
    assert.equal(formatHttpLike(r).toString(), 'HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\nbody');
  });
});
