import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequestHead, RequestHead, RequestHeadOptions } from '../../src/cgi/request-head';
import { paramsFromPairs } from '../../src/cgi/params';
import { CgiError, CgiErrorCode } from '../../src/cgi/errors';

type Pairs = Array<[string, string]>;

/** head: the request head for these params, as FastCGI would deliver them (a duplicate: last wins). */
function head(pairs: Pairs, options?: RequestHeadOptions): RequestHead {
  return createRequestHead(paramsFromPairs(pairs), options);
}

function throwsCgi(fn: () => unknown, code: CgiErrorCode, status: number): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CgiError, `expected a CgiError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return true;
  });
}

/** headerPairs: rawHeaders as sorted [name, value] pairs. */
function headerPairs(h: RequestHead): Pairs {
  assert.equal(h.rawHeaders.length % 2, 0);
  const out: Pairs = [];
  for (let i = 0; i < h.rawHeaders.length; i += 2) out.push([h.rawHeaders[i]!, h.rawHeaders[i + 1]!]);
  return out.sort(([a], [b]) => a.localeCompare(b));
}

const GET: Pairs = [['REQUEST_METHOD', 'GET'], ['QUERY_STRING', 'x=1']];

interface Row {
  setup: string;
  params: Pairs;
  url: string;
  mountPoint: string;
}

// FIELD-NOTES "What the app sees for GET /foo/bar?x=1", one row per measured setup.
const rows: Row[] = [
  { setup: 'Apache + mod_fcgid, classic .htaccess at the docroot',
    params: [['SCRIPT_NAME', '/dispatch.fcgi'], ['SCRIPT_FILENAME', '/var/www/dispatch.fcgi'], ['PATH_INFO', '/foo/bar'],
      ['REQUEST_URI', '/foo/bar?x=1']],
    url: '/foo/bar?x=1', mountPoint: '' },
  { setup: 'Apache mod_cgi / mod_cgid, same .htaccess with dispatch.cgi',
    params: [['SCRIPT_NAME', '/dispatch.cgi'], ['SCRIPT_FILENAME', '/var/www/dispatch.cgi'], ['PATH_INFO', '/foo/bar'],
      ['REQUEST_URI', '/foo/bar?x=1']],
    url: '/foo/bar?x=1', mountPoint: '' },
  { setup: 'Apache, script in the URL',
    params: [['SCRIPT_NAME', '/dispatch.fcgi'], ['SCRIPT_FILENAME', '/var/www/dispatch.fcgi'], ['PATH_INFO', '/foo/bar'],
      ['REQUEST_URI', '/dispatch.fcgi/foo/bar?x=1']],
    url: '/foo/bar?x=1', mountPoint: '/dispatch.fcgi' },
  { setup: 'Apache, .htaccess in a subfolder /app/',
    params: [['SCRIPT_NAME', '/app/dispatch.fcgi'], ['SCRIPT_FILENAME', '/var/www/app/dispatch.fcgi'],
      ['PATH_INFO', '/foo/bar'], ['REQUEST_URI', '/app/foo/bar?x=1']],
    url: '/foo/bar?x=1', mountPoint: '/app' },
  { setup: 'nginx with SCRIPT_NAME "" and PATH_INFO $uri (SCRIPT_NAME sent twice)',
    params: [['SCRIPT_NAME', '/foo/bar'], ['REQUEST_URI', '/foo/bar?x=1'], ['DOCUMENT_URI', '/foo/bar'],
      ['SCRIPT_NAME', ''], ['PATH_INFO', '/foo/bar']],
    url: '/foo/bar?x=1', mountPoint: '' },
  // Debian's stock fastcgi_params send SCRIPT_NAME $fastcgi_script_name (= the URI), no PATH_INFO
  // and no SCRIPT_FILENAME. "Route on PATH_INFO when REQUEST_URI ends with it, else on REQUEST_URI":
  // with no PATH_INFO the route is REQUEST_URI's path. (Fails today: see the report.)
  { setup: 'nginx with Debian\'s stock fastcgi_params only',
    params: [['SCRIPT_NAME', '/foo/bar'], ['REQUEST_URI', '/foo/bar?x=1'], ['DOCUMENT_URI', '/foo/bar']],
    url: '/foo/bar?x=1', mountPoint: '' },
  { setup: 'lighttpd "/" with fix-root-scriptname',
    params: [['SCRIPT_NAME', ''], ['PATH_INFO', '/foo/bar'], ['REQUEST_URI', '/foo/bar?x=1']],
    url: '/foo/bar?x=1', mountPoint: '' },
  // The rule cannot tell this SCRIPT_NAME from a real mount point: the app routes on /bar.
  { setup: 'lighttpd "/" without fix-root-scriptname',
    params: [['SCRIPT_NAME', '/foo'], ['PATH_INFO', '/bar'], ['REQUEST_URI', '/foo/bar?x=1']],
    url: '/bar?x=1', mountPoint: '/foo' },
];

describe('createRequestHead: the mount point fix, per measured server setup', () => {
  for (const row of rows) {
    it(`GET /foo/bar?x=1 via ${row.setup}`, () => {
      const h = head([...GET, ...row.params]);
      const requestUri = row.params.find(([n]) => n === 'REQUEST_URI')![1];
      assert.equal(h.url, row.url);
      assert.equal(h.mountPoint, row.mountPoint);
      assert.equal(h.originalUrl, requestUri);
      assert.equal(h.mountPoint + h.url, requestUri, 'mount point + route = what the browser asked for');
      assert.equal(h.method, 'GET');
    });

    it(`GET /foo/bar?x=1 via ${row.setup}, stripMountPoint: false`, () => {
      const h = head([...GET, ...row.params], { stripMountPoint: false });
      const requestUri = row.params.find(([n]) => n === 'REQUEST_URI')![1];
      assert.equal(h.url, requestUri);
      assert.equal(h.mountPoint, '');
      assert.equal(h.originalUrl, requestUri);
    });
  }
});

describe('createRequestHead: paths', () => {
  it('keeps the percent-encoding of REQUEST_URI in url (PATH_INFO is decoded)', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/dispatch.fcgi'], ['PATH_INFO', '/a b/c'], ['REQUEST_URI', '/a%20b/c?x=1']]);
    assert.equal(h.url, '/a%20b/c?x=1');
    assert.equal(h.mountPoint, '');
  });

  it('strips an encoded mount point and keeps the encoding on both sides', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/my app/dispatch.fcgi'], ['PATH_INFO', '/p\u00c3\u00a9/%/~u'],
      ['REQUEST_URI', '/my%20app/p%C3%A9/%25/%7eu?x=1']]);
    assert.equal(h.url, '/p%C3%A9/%25/%7eu?x=1');
    assert.equal(h.mountPoint, '/my%20app');
  });

  it('strips /dispatch.fcgi before an encoded route', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/dispatch.fcgi'], ['PATH_INFO', '/a b/c'],
      ['REQUEST_URI', '/dispatch.fcgi/a%20b/c?x=1']]);
    assert.equal(h.url, '/a%20b/c?x=1');
    assert.equal(h.mountPoint, '/dispatch.fcgi');
  });

  it('matches UTF-8 path bytes given as latin-1, encoded or raw in REQUEST_URI', () => {
    const pathInfo = Buffer.from('/café', 'utf8').toString('latin1');
    const encoded = head([...GET, ['SCRIPT_NAME', '/app/dispatch.fcgi'], ['PATH_INFO', pathInfo],
      ['REQUEST_URI', '/app/caf%C3%A9?x=1']]);
    assert.equal(encoded.url, '/caf%C3%A9?x=1');
    assert.equal(encoded.mountPoint, '/app');
    const raw = head([...GET, ['SCRIPT_NAME', '/app/dispatch.fcgi'], ['PATH_INFO', pathInfo],
      ['REQUEST_URI', `/app${pathInfo}?x=1`]]);
    assert.equal(raw.url, `${pathInfo}?x=1`);
    assert.equal(raw.mountPoint, '/app');
  });

  it('keeps a literal % that starts no escape', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/s.fcgi'], ['PATH_INFO', '/100%/x'], ['REQUEST_URI', '/100%/x']]);
    assert.equal(h.url, '/100%/x?x=1');
    assert.equal(h.mountPoint, '');
  });

  it('keeps a % before two characters that are not hex digits, and strips the mount point before it', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/app/dispatch.fcgi'], ['PATH_INFO', '/a%zz/%g0'], ['REQUEST_URI', '/app/a%zz/%g0']]);
    assert.equal(h.url, '/a%zz/%g0?x=1');
    assert.equal(h.mountPoint, '/app');
  });

  it('routes on an encoded REQUEST_URI that does not end with PATH_INFO (an internal rewrite), with no mount point', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/dispatch.fcgi'], ['PATH_INFO', '/new'], ['REQUEST_URI', '/o%20ld?x=1']]);
    assert.equal(h.url, '/o%20ld?x=1');
    assert.equal(h.mountPoint, '');
  });

  it('routes on REQUEST_URI when it does not end with PATH_INFO (an internal rewrite)', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/dispatch.fcgi'], ['PATH_INFO', '/new'], ['REQUEST_URI', '/old?x=1']]);
    assert.equal(h.url, '/old?x=1');
    assert.equal(h.mountPoint, '');
  });

  it('routes on / when PATH_INFO is empty and REQUEST_URI is SCRIPT_NAME naming the entry script', () => {
    const scriptFile = '/var/www/dispatch.fcgi';
    for (const pathInfo of [[], [['PATH_INFO', '']]] as Pairs[]) {
      const h = head([['REQUEST_METHOD', 'GET'], ['SCRIPT_NAME', '/dispatch.fcgi'],
        ['SCRIPT_FILENAME', '/var/www/dispatch.fcgi'], ...pathInfo, ['REQUEST_URI', '/dispatch.fcgi']], { scriptFile });
      assert.equal(h.url, '/');
      assert.equal(h.mountPoint, '/dispatch.fcgi');
      assert.equal(h.originalUrl, '/dispatch.fcgi');
    }
    const withQuery = head([...GET, ['SCRIPT_NAME', '/dispatch.fcgi'], ['REQUEST_URI', '/dispatch.fcgi?x=1']], { scriptFile });
    assert.equal(withQuery.url, '/?x=1');
  });

  it('routes on the whole path when SCRIPT_NAME is the path but not the entry script (nginx stock params)', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/foo/bar'], ['REQUEST_URI', '/foo/bar?x=1']], { scriptFile: '/srv/app/dispatch.fcgi' });
    assert.equal(h.url, '/foo/bar?x=1');
    assert.equal(h.mountPoint, '');
  });

  it('takes the query from REQUEST_URI when QUERY_STRING is absent, and QUERY_STRING when present', () => {
    const base: Pairs = [['REQUEST_METHOD', 'GET'], ['SCRIPT_NAME', ''], ['PATH_INFO', '/p'], ['REQUEST_URI', '/p?a=b']];
    assert.equal(head(base).url, '/p?a=b');
    assert.equal(head([...base, ['QUERY_STRING', 'a=b&page=p']]).url, '/p?a=b&page=p');
    assert.equal(head([...base, ['QUERY_STRING', '']]).url, '/p');
  });

  it('builds the URL from SCRIPT_NAME + PATH_INFO when there is no REQUEST_URI (RFC 3875 only)', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/cgi-bin/app.cgi'], ['PATH_INFO', '/foo/bar']]);
    assert.equal(h.url, '/foo/bar?x=1');
    assert.equal(h.mountPoint, '/cgi-bin/app.cgi');
    assert.equal(h.originalUrl, '/cgi-bin/app.cgi/foo/bar?x=1');
    const full = head([...GET, ['SCRIPT_NAME', '/cgi-bin/app.cgi'], ['PATH_INFO', '/foo/bar']], { stripMountPoint: false });
    assert.equal(full.url, '/cgi-bin/app.cgi/foo/bar?x=1');
    assert.equal(full.mountPoint, '');
  });

  it('percent-encodes a decoded PATH_INFO when there is no REQUEST_URI', () => {
    const pathInfo = Buffer.from('/a b/café', 'utf8').toString('latin1');
    const h = head([['REQUEST_METHOD', 'GET'], ['SCRIPT_NAME', '/app.cgi'], ['PATH_INFO', pathInfo]]);
    assert.equal(h.url, '/a%20b/caf%C3%A9');
    assert.equal(h.originalUrl, '/app.cgi/a%20b/caf%C3%A9');
  });

  it('routes on / when there is neither REQUEST_URI nor PATH_INFO', () => {
    const h = head([...GET, ['SCRIPT_NAME', '/app.cgi']]);
    assert.equal(h.url, '/?x=1');
    assert.equal(h.mountPoint, '/app.cgi');
  });
});

describe('createRequestHead: method and body length', () => {
  it('emits CGI_ERR_NO_METHOD when REQUEST_METHOD is missing', () => {
    throwsCgi(() => head([['REQUEST_URI', '/']]), 'CGI_ERR_NO_METHOD', 400);
  });

  it('emits CGI_ERR_NO_METHOD when REQUEST_METHOD is empty', () => {
    throwsCgi(() => head([['REQUEST_METHOD', ''], ['REQUEST_URI', '/']]), 'CGI_ERR_NO_METHOD', 400);
  });

  it('passes the method through', () => {
    assert.equal(head([['REQUEST_METHOD', 'PROPFIND'], ['REQUEST_URI', '/']]).method, 'PROPFIND');
  });

  for (const [value, expected] of [[undefined, undefined], ['', undefined], ['0', 0], ['5', 5], ['1048576', 1048576]] as const) {
    it(`reads CONTENT_LENGTH ${JSON.stringify(value)} as ${String(expected)}`, () => {
      const pairs: Pairs = [['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/']];
      if (value !== undefined) pairs.push(['CONTENT_LENGTH', value]);
      const h = head(pairs);
      assert.equal(h.contentLength, expected);
      assert.deepEqual(headerPairs(h).filter(([n]) => n === 'content-length'),
        expected === undefined ? [] : [['content-length', String(expected)]]);
    });
  }

  for (const value of ['abc', '-1', '1.5', ' 5', '5 ', '0x10', '1e3', '+5']) {
    it(`emits CGI_ERR_BAD_CONTENT_LENGTH when CONTENT_LENGTH is ${JSON.stringify(value)}`, () => {
      throwsCgi(() => head([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/'], ['CONTENT_LENGTH', value]]),
        'CGI_ERR_BAD_CONTENT_LENGTH', 400);
    });
  }
});

describe('createRequestHead: headers', () => {
  it('turns HTTP_* into lower-case dashed names, and CONTENT_TYPE/CONTENT_LENGTH into headers', () => {
    const h = head([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/'], ['HTTP_HOST', 'example.com'],
      ['HTTP_USER_AGENT', 'curl/8.5'], ['HTTP_X_FORWARDED_FOR', '203.0.113.7'], ['HTTP_ACCEPT_ENCODING', 'gzip'],
      ['CONTENT_TYPE', 'text/plain'], ['CONTENT_LENGTH', '5'], ['SERVER_NAME', 'example.com'], ['GATEWAY_INTERFACE', 'CGI/1.1']]);
    assert.deepEqual(headerPairs(h), [
      ['accept-encoding', 'gzip'], ['content-length', '5'], ['content-type', 'text/plain'], ['host', 'example.com'],
      ['user-agent', 'curl/8.5'], ['x-forwarded-for', '203.0.113.7'],
    ]);
  });

  it('takes content-type and content-length from CONTENT_*, never from HTTP_CONTENT_*', () => {
    const h = head([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/'], ['HTTP_CONTENT_LENGTH', '999'],
      ['HTTP_CONTENT_TYPE', 'x/y'], ['CONTENT_LENGTH', '5'], ['CONTENT_TYPE', 'text/plain']]);
    assert.deepEqual(headerPairs(h), [['content-length', '5'], ['content-type', 'text/plain']]);
  });

  it('gives no content headers for nginx\'s empty CONTENT_TYPE and CONTENT_LENGTH on a GET', () => {
    const h = head([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ['CONTENT_TYPE', ''], ['CONTENT_LENGTH', '']]);
    assert.deepEqual(headerPairs(h), []);
    assert.equal(h.contentLength, undefined);
  });

  it('drops transfer-encoding when nginx sends CONTENT_LENGTH with HTTP_TRANSFER_ENCODING=chunked', () => {
    const h = head([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/'], ['CONTENT_LENGTH', '11'],
      ['HTTP_TRANSFER_ENCODING', 'chunked']]);
    assert.deepEqual(headerPairs(h), [['content-length', '11']]);
    assert.equal(h.contentLength, 11);
  });

  it('keeps transfer-encoding when Apache sends a chunked upload without CONTENT_LENGTH', () => {
    const h = head([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/'], ['HTTP_TRANSFER_ENCODING', 'chunked']]);
    assert.deepEqual(headerPairs(h), [['transfer-encoding', 'chunked']]);
    assert.equal(h.contentLength, undefined);
  });

  it('lets the last duplicate param win in the headers', () => {
    const h = head([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ['HTTP_HOST', 'a.example'], ['HTTP_HOST', 'b.example']]);
    assert.deepEqual(headerPairs(h), [['host', 'b.example']]);
  });
});

describe('createRequestHead: connection facts', () => {
  const https: Array<[Pairs, boolean]> = [
    [[['HTTPS', 'on']], true], [[['HTTPS', 'ON']], true], [[['HTTPS', '1']], true],
    [[['HTTPS', 'off']], false], [[['HTTPS', '']], false], [[], false],
    [[['REQUEST_SCHEME', 'https']], true], [[['REQUEST_SCHEME', 'http']], false],
    [[['HTTPS', 'on'], ['REQUEST_SCHEME', 'https']], true], [[['HTTPS', ''], ['REQUEST_SCHEME', 'http']], false],
  ];
  for (const [pairs, expected] of https) {
    it(`https is ${expected} for ${JSON.stringify(pairs)}`, () => {
      assert.equal(head([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ...pairs]).https, expected);
    });
  }

  it('reads remote and local address and port', () => {
    const h = head([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ['REMOTE_ADDR', '2001:db8::7'],
      ['REMOTE_PORT', '54321'], ['SERVER_ADDR', '127.0.0.1'], ['SERVER_PORT', '8080']]);
    assert.deepEqual([h.remoteAddress, h.remotePort, h.localAddress, h.localPort], ['2001:db8::7', 54321, '127.0.0.1', 8080]);
  });

  it('gives empty addresses and port 0 when the server sends none or nonsense', () => {
    const none = head([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/']]);
    assert.deepEqual([none.remoteAddress, none.remotePort, none.localAddress, none.localPort], ['', 0, '', 0]);
    const bad = head([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ['REMOTE_PORT', 'x'], ['SERVER_PORT', '70000']]);
    assert.deepEqual([bad.remotePort, bad.localPort], [0, 0]);
  });

  it('reads a port as Number() does, plain digits or not', () => {
    const cases: Array<[string, number]> = [['0', 0], ['65535', 65535], ['65536', 0], ['99999', 0], ['', 0], ['0x50', 80],
      [' 80', 80], ['8.5', 0], ['123456', 0]];
    for (const [port, expected] of cases) {
      const h = head([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ['REMOTE_PORT', port], ['SERVER_PORT', port]]);
      assert.deepEqual([h.remotePort, h.localPort], [expected, expected], JSON.stringify(port));
    }
  });

  for (const [protocol, version] of [['HTTP/1.0', '1.0'], ['HTTP/1.1', '1.1'], ['HTTP/2.0', '2.0'],
    [undefined, '1.1'], ['INCLUDED', '1.1']] as const) {
    it(`httpVersion is ${version} for SERVER_PROTOCOL ${String(protocol)}`, () => {
      const pairs: Pairs = [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/']];
      if (protocol !== undefined) pairs.push(['SERVER_PROTOCOL', protocol]);
      assert.equal(head(pairs).httpVersion, version);
    });
  }
});
