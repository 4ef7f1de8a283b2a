import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type CgiParamsOptions, buildCgiParams, percentDecode } from '../../src/client/params';
import { createRequestHead } from '../../src/cgi/request-head';
import { paramsFromPairs } from '../../src/cgi/params';

function paramsOf(opts: CgiParamsOptions): Map<string, string> {
  return new Map(buildCgiParams(opts));
}

/** bytes: the latin-1 string of a text's UTF-8 bytes, the form params carry on the wire. */
function bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

describe('buildCgiParams: the FIELD-NOTES table for GET /foo/bar?x=1 (Apache rows)', () => {
  const rows: Array<{ setup: string; opts: CgiParamsOptions; scriptName: string; pathInfo: string; requestUri: string; mount: string }> = [
    { setup: 'mod_fcgid, classic .htaccess at the docroot', opts: { target: '/foo/bar?x=1' },
      scriptName: '/dispatch.fcgi', pathInfo: '/foo/bar', requestUri: '/foo/bar?x=1', mount: '' },
    { setup: 'mod_cgi, same .htaccess with dispatch.cgi', opts: { target: '/foo/bar?x=1', mode: 'cgi' },
      scriptName: '/dispatch.cgi', pathInfo: '/foo/bar', requestUri: '/foo/bar?x=1', mount: '' },
    { setup: 'script in the URL', opts: { target: '/dispatch.fcgi/foo/bar?x=1' },
      scriptName: '/dispatch.fcgi', pathInfo: '/foo/bar', requestUri: '/dispatch.fcgi/foo/bar?x=1', mount: '/dispatch.fcgi' },
    { setup: '.htaccess in a subfolder /app/', opts: { target: '/foo/bar?x=1', mountPoint: '/app' },
      scriptName: '/app/dispatch.fcgi', pathInfo: '/foo/bar', requestUri: '/app/foo/bar?x=1', mount: '/app' },
    { setup: 'subfolder given with a trailing slash', opts: { target: '/foo/bar?x=1', mountPoint: '/app/' },
      scriptName: '/app/dispatch.fcgi', pathInfo: '/foo/bar', requestUri: '/app/foo/bar?x=1', mount: '/app' },
  ];
  for (const row of rows) {
    it(row.setup, () => {
      const p = paramsOf(row.opts);
      assert.equal(p.get('SCRIPT_NAME'), row.scriptName);
      assert.equal(p.get('PATH_INFO'), row.pathInfo);
      assert.equal(p.get('REQUEST_URI'), row.requestUri);
      assert.equal(p.get('QUERY_STRING'), 'x=1');
      // The project's own request mapping must recover the route and the mount point from them.
      const head = createRequestHead(paramsFromPairs(buildCgiParams(row.opts)));
      assert.equal(head.url, '/foo/bar?x=1');
      assert.equal(head.mountPoint, row.mount);
      assert.equal(head.originalUrl, row.requestUri);
    });
  }
});

describe('buildCgiParams: variables', () => {
  it('sends the fixed CGI/1.1 variables and the server defaults', () => {
    const p = paramsOf({ target: '/' });
    assert.equal(p.get('GATEWAY_INTERFACE'), 'CGI/1.1');
    assert.equal(p.get('SERVER_PROTOCOL'), 'HTTP/1.1');
    assert.equal(p.get('SERVER_SOFTWARE'), 'dualcgi');
    assert.equal(p.get('REQUEST_METHOD'), 'GET');
    assert.equal(p.get('REQUEST_SCHEME'), 'http');
    assert.equal(p.get('SERVER_ADDR'), '127.0.0.1');
    assert.equal(p.get('SERVER_PORT'), '80');
    assert.equal(p.get('SERVER_NAME'), 'localhost');
    assert.equal(p.get('HTTP_HOST'), 'localhost');
    assert.equal(p.get('QUERY_STRING'), '');
    assert.equal(p.get('PATH_INFO'), '/');
    assert.equal(p.get('DOCUMENT_ROOT'), '/var/www/html');
    assert.equal(p.get('SCRIPT_FILENAME'), '/var/www/html/dispatch.fcgi');
    assert.equal(p.get('HTTPS'), undefined);
  });

  it('decodes PATH_INFO to UTF-8 bytes and keeps REQUEST_URI raw', () => {
    const p = paramsOf({ target: '/caf%C3%A9/a%20b/%zz?q=%C3%A9' });
    assert.equal(p.get('PATH_INFO'), bytes('/café/a b/%zz'));
    assert.equal(p.get('REQUEST_URI'), '/caf%C3%A9/a%20b/%zz?q=%C3%A9');
    assert.equal(p.get('QUERY_STRING'), 'q=%C3%A9');
    assert.equal(percentDecode('%41%4a%4A'), 'AJJ');
  });

  it('writes raw non-ASCII characters as their UTF-8 bytes', () => {
    const p = paramsOf({ target: '/é?é', headers: [['X-Name', 'Zoë']] });
    assert.equal(p.get('REQUEST_URI'), bytes('/é?é'));
    assert.equal(p.get('PATH_INFO'), bytes('/é'));
    assert.equal(p.get('HTTP_X_NAME'), bytes('Zoë'));
  });

  it('maps headers as Apache does', () => {
    const p = paramsOf({
      method: 'POST',
      target: '/form',
      headers: [
        ['Host', 'example.org:8080'], ['Content-Type', 'text/plain'], ['Content-Length', '5'],
        ['Accept', 'text/html'], ['accept', 'application/json'], ['Cookie', 'a=1'], ['Cookie', 'b=2'],
        ['X_Spoofed', 'dropped'], ['X-Forwarded-For', '10.0.0.1'],
      ],
    });
    assert.equal(p.get('HTTP_HOST'), 'example.org:8080');
    assert.equal(p.get('SERVER_NAME'), 'example.org');
    assert.equal(p.get('CONTENT_TYPE'), 'text/plain');
    assert.equal(p.get('CONTENT_LENGTH'), '5');
    assert.equal(p.get('HTTP_CONTENT_TYPE'), undefined);
    assert.equal(p.get('HTTP_ACCEPT'), 'text/html, application/json');
    assert.equal(p.get('HTTP_COOKIE'), 'a=1; b=2');
    assert.equal(p.get('HTTP_X_SPOOFED'), undefined);
    assert.equal(p.get('HTTP_X_FORWARDED_FOR'), '10.0.0.1');
    assert.equal(p.get('REQUEST_METHOD'), 'POST');
  });

  it('sends CONTENT_LENGTH as mod_fcgid and mod_cgi do', () => {
    assert.equal(paramsOf({ target: '/' }).get('CONTENT_LENGTH'), '0');
    assert.equal(paramsOf({ target: '/', mode: 'cgi' }).has('CONTENT_LENGTH'), false);
    assert.equal(paramsOf({ target: '/', bodyLength: 12 }).get('CONTENT_LENGTH'), '12');
    assert.equal(paramsOf({ target: '/', bodyLength: null }).has('CONTENT_LENGTH'), false);
    assert.equal(paramsOf({ target: '/', bodyLength: 12, headers: [['Content-Length', '3']] }).get('CONTENT_LENGTH'), '3');
  });

  it('describes https, the server and the client', () => {
    const p = paramsOf({
      target: '/', https: true, serverName: 'www.example.org', serverAddr: '10.1.1.1', remoteAddr: '192.0.2.7',
      remotePort: 40000, documentRoot: '/srv/www/', scriptFilename: '/srv/www/d.fcgi', scriptName: '/d.fcgi',
    });
    assert.equal(p.get('HTTPS'), 'on');
    assert.equal(p.get('REQUEST_SCHEME'), 'https');
    assert.equal(p.get('SERVER_PORT'), '443');
    assert.equal(p.get('SERVER_NAME'), 'www.example.org');
    assert.equal(p.get('HTTP_HOST'), 'www.example.org');
    assert.equal(p.get('SERVER_ADDR'), '10.1.1.1');
    assert.equal(p.get('REMOTE_ADDR'), '192.0.2.7');
    assert.equal(p.get('REMOTE_PORT'), '40000');
    assert.equal(p.get('DOCUMENT_ROOT'), '/srv/www');
    assert.equal(p.get('SCRIPT_FILENAME'), '/srv/www/d.fcgi');
    assert.equal(p.get('SCRIPT_NAME'), '/d.fcgi');
  });

  it('marks the rewrite as an internal redirect only when the script is not in the URL', () => {
    const rewritten = paramsOf({ target: '/foo?x=1', mountPoint: '/app' });
    assert.equal(rewritten.get('REDIRECT_URL'), '/app/foo');
    assert.equal(rewritten.get('REDIRECT_STATUS'), '200');
    assert.equal(paramsOf({ target: '/dispatch.fcgi/foo' }).has('REDIRECT_URL'), false);
  });

  it('sends every name once', () => {
    const names = buildCgiParams({ target: '/a?b', headers: [['Host', 'h'], ['Accept', 'x'], ['Accept', 'y']] }).map(([n]) => n);
    assert.deepEqual(names, [...new Set(names)]);
  });
});
