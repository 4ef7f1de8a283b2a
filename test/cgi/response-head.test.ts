import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { encodeErrorResponse, encodeResponseHead, httpHeadToCgi, HeaderList } from '../../src/cgi/response-head';
import { CgiError } from '../../src/cgi/errors';

function throwsInjection(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CgiError, `expected a CgiError, got ${String(err)}`);
    assert.equal(err.code, 'CGI_ERR_HEADER_INJECTION');
    assert.equal(err.status, 500);
    return true;
  });
}

describe('encodeResponseHead', () => {
  it('writes Status first, then the headers in order, then the empty line', () => {
    assert.equal(encodeResponseHead(201, 'Created', [['Content-Type', 'text/html'], ['X-A', '1']]),
      'Status: 201 Created\r\nContent-Type: text/html\r\nX-A: 1\r\n\r\n');
  });

  it('uses the standard reason phrase when none is given', () => {
    assert.equal(encodeResponseHead(200, undefined, []), 'Status: 200 OK\r\n\r\n');
    assert.equal(encodeResponseHead(404, '', []), 'Status: 404 Not Found\r\n\r\n');
    assert.equal(encodeResponseHead(418, undefined, []), 'Status: 418 I\'m a Teapot\r\n\r\n');
  });

  it('keeps a custom reason phrase', () => {
    assert.equal(encodeResponseHead(404, 'Gone Fishing', []), 'Status: 404 Gone Fishing\r\n\r\n');
  });

  it('still writes a reason for a status node:http does not know', () => {
    assert.match(encodeResponseHead(599, undefined, []), /^Status: 599 \S.*\r\n\r\n$/);
  });

  it('drops hop-by-hop headers, whatever their case', () => {
    const headers: HeaderList = [
      ['Connection', 'keep-alive'], ['Keep-Alive', 'timeout=5'], ['Transfer-Encoding', 'chunked'],
      ['content-type', 'text/plain'], ['UPGRADE', 'websocket'], ['Proxy-Connection', 'close'], ['Content-Length', '2'],
    ];
    assert.equal(encodeResponseHead(200, undefined, headers),
      'Status: 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 2\r\n\r\n');
  });

  it('drops a Status header from the list: the status argument is the one sent', () => {
    assert.equal(encodeResponseHead(302, undefined, [['Status', '200 OK'], ['Location', '/x']]),
      'Status: 302 Found\r\nLocation: /x\r\n\r\n');
  });

  it('emits CGI_ERR_HEADER_INJECTION for an empty header name', () => {
    assert.throws(() => encodeResponseHead(200, undefined, [['', 'v']]), { code: 'CGI_ERR_HEADER_INJECTION' });
  });

  it('keeps every Set-Cookie, in order', () => {
    const head = encodeResponseHead(200, undefined, [['Set-Cookie', 'a=1'], ['X', 'y'], ['Set-Cookie', 'b=2; Path=/'],
      ['set-cookie', 'c=3']]);
    assert.deepEqual(head.split('\r\n').filter((l) => /^set-cookie:/i.test(l)),
      ['Set-Cookie: a=1', 'Set-Cookie: b=2; Path=/', 'set-cookie: c=3']);
  });

  const injections: Array<[where: string, status: number, reason: string | undefined, headers: HeaderList]> = [
    ['a value holds CR LF', 200, undefined, [['Location', '/x\r\nSet-Cookie: evil=1']]],
    ['a value holds a bare LF', 200, undefined, [['X-A', 'a\nb']]],
    ['a value holds a bare CR', 200, undefined, [['X-A', 'a\rb']]],
    ['a value holds NUL', 200, undefined, [['X-A', 'a\0b']]],
    ['a name holds CR LF', 200, undefined, [['X-A\r\nX-B', 'v']]],
    ['a name holds LF', 200, undefined, [['X-A\n', 'v']]],
    ['a name holds NUL', 200, undefined, [['X\0', 'v']]],
    ['a name holds a colon', 200, undefined, [['Location: /evil\tX-A', 'v']]],
    ['the reason phrase holds CR LF', 200, 'OK\r\nSet-Cookie: evil=1', []],
    ['the second of two Set-Cookie values holds LF', 200, undefined, [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2\nX: y']]],
    // latin1 keeps the low byte: U+010D U+010A are CR LF on the wire.
    ['the reason phrase holds U+010D U+010A', 200, 'OK\u010d\u010aSet-Cookie: evil=1', []],
    ['a value holds U+010A', 200, undefined, [['X-A', 'a\u010aSet-Cookie: evil=1']]],
    ['a name holds U+010A', 200, undefined, [['X-A\u010aX-B', 'v']]],
  ];
  it('takes the statuses at both ends of the range, 100 and 999', () => {
    assert.equal(encodeResponseHead(100, undefined, []), 'Status: 100 Continue\r\n\r\n');
    assert.equal(encodeResponseHead(999, undefined, []), 'Status: 999 Unknown\r\n\r\n');
  });

  for (const status of [NaN, 99, 1000, 200.5]) {
    it(`emits CGI_ERR_BAD_STATUS for status ${status}`, () => {
      assert.throws(() => encodeResponseHead(status, 'OK', []), { code: 'CGI_ERR_BAD_STATUS' });
    });
  }
  for (const [where, status, reason, headers] of injections) {
    it(`emits CGI_ERR_HEADER_INJECTION when ${where}`, () => {
      throwsInjection(() => encodeResponseHead(status, reason, headers));
    });
  }
});

describe('encodeErrorResponse', () => {
  it('is a whole plain-text response: its head, a body ending in one newline, Content-Length in bytes', () => {
    assert.equal(encodeErrorResponse(503, '503 no worker').toString('latin1'),
      'Status: 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n503 no worker\n');
    assert.equal(encodeErrorResponse(500, 'failed\n').toString('latin1'),
      'Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 7\r\n\r\nfailed\n');
    const utf8 = encodeErrorResponse(400, 'caf\u00e9');
    assert.match(utf8.toString('latin1'), /\r\nContent-Length: 6\r\n\r\n/);
    assert.deepEqual(utf8.subarray(-6), Buffer.from('caf\u00e9\n', 'utf8'));
  });
});

/** realHttpHead: the head node:http itself writes for a response built by `respond`. */
async function realHttpHead(respond: (res: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer((_req, res) => respond(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
    let received = '';
    for await (const chunk of socket) {
      received += (chunk as Buffer).toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end !== -1) {
        socket.destroy();
        return received.slice(0, end + 4);
      }
    }
    throw new Error(`connection closed before the head ended: ${JSON.stringify(received)}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

describe('httpHeadToCgi', () => {
  it('turns a literal node:http head into a CGI head', () => {
    const httpHead = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Thu, 01 Jan 2025 00:00:00 GMT\r\n' +
      'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n';
    assert.equal(httpHeadToCgi(httpHead),
      'Status: 200 OK\r\nContent-Type: text/plain\r\nDate: Thu, 01 Jan 2025 00:00:00 GMT\r\n\r\n');
  });

  it('keeps a multi-word reason phrase and repeated headers', () => {
    const httpHead = 'HTTP/1.1 404 Not Found\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: close\r\n\r\n';
    assert.equal(httpHeadToCgi(httpHead), 'Status: 404 Not Found\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n');
  });

  it('drops a Status header the app set, so only one status goes out', () => {
    assert.equal(httpHeadToCgi('HTTP/1.1 200 OK\r\nStatus: 302 Found\r\nX-A: 1\r\n\r\n'), 'Status: 200 OK\r\nX-A: 1\r\n\r\n');
  });

  it('cuts node\'s own Connection line and keeps look-alike names (fast path)', () => {
    const httpHead = 'HTTP/1.1 200 OK\r\nX-Connection: 1\r\nStatus-Page: 2\r\nContent-Type: text/plain\r\n' +
      'Connection: keep-alive\r\nContent-Length: 14\r\n\r\n';
    assert.equal(httpHeadToCgi(httpHead),
      'Status: 200 OK\r\nX-Connection: 1\r\nStatus-Page: 2\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n');
  });

  it('drops hop-by-hop lines in any case after node\'s own line is cut', () => {
    const httpHead = 'HTTP/1.1 200 OK\r\nupgrade: h2c\r\nConnection: keep-alive\r\nKEEP-ALIVE: timeout=5\r\nX-A: 1\r\n\r\n';
    assert.equal(httpHeadToCgi(httpHead), 'Status: 200 OK\r\nX-A: 1\r\n\r\n');
  });

  it('reads an HTTP/1.0 status line the same way', () => {
    assert.equal(httpHeadToCgi('HTTP/1.0 204 No Content\r\n\r\n'), 'Status: 204 No Content\r\n\r\n');
  });

  it('converts the head node:http writes for a chunked response', async () => {
    const httpHead = await realHttpHead((res) => {
      res.statusCode = 201;
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2']);
      res.write('{');
      res.end('}');
    });
    assert.match(httpHead, /^HTTP\/1\.1 201 Created\r\n/);
    assert.match(httpHead, /\r\nTransfer-Encoding: chunked\r\n/, 'node:http really wrote chunked');
    const lines = httpHeadToCgi(httpHead).split('\r\n');
    assert.equal(lines[0], 'Status: 201 Created');
    assert.deepEqual(lines.slice(-2), ['', '']);
    const names = lines.slice(1, -2).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
    assert.deepEqual(names.filter((n) => ['connection', 'keep-alive', 'transfer-encoding'].includes(n)), []);
    assert.deepEqual(lines.filter((l) => l.startsWith('Set-Cookie:')), ['Set-Cookie: a=1; Path=/', 'Set-Cookie: b=2']);
    assert.ok(names.includes('content-type') && names.includes('date'), names.join(','));
  });

  it('converts the head node:http writes for writeHead with a custom reason and Content-Length', async () => {
    const httpHead = await realHttpHead((res) => {
      res.writeHead(404, 'Gone Fishing', { 'Content-Length': '2', 'X-Trace': 'abc' });
      res.end('no');
    });
    assert.match(httpHead, /\r\nConnection: keep-alive\r\n/i, 'node:http really wrote Connection');
    const cgi = httpHeadToCgi(httpHead);
    assert.match(cgi, /^Status: 404 Gone Fishing\r\n/);
    assert.match(cgi, /\r\nContent-Length: 2\r\n/);
    assert.match(cgi, /\r\nX-Trace: abc\r\n/);
    assert.doesNotMatch(cgi, /^(connection|keep-alive):/im);
    assert.ok(cgi.endsWith('\r\n\r\n'));
  });
});
