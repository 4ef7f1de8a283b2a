/**
 * The redaction policy's own lists, one assertion per secret name: each name once tested by
 * another test alone (HTTP_COOKIE, HTTP_AUTHORIZATION, Set-Cookie), the others by none, so a
 * name dropped from a list went unnoticed (a mutation audit: removing PHP_AUTH_PW, REMOTE_PASSWD,
 * HTTP_PROXY_AUTHORIZATION, Cookie, Authorization or Proxy-Authorization failed no test).
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  isSecretHeader, isSecretHeaderName, isSecretParam, isSecretParamLength, isSecretParamName, preview, REDACTED,
  redactHeaders, redactParams, SECRET_HEADER_NAMES, traceOptions,
} from '../../src/trace/redact';
import { SECRET_HEADERS, SECRET_PARAMS } from './secrets-fixture';

describe('redact', () => {
  afterEach(() => { traceOptions.showSecrets = false; });

  it('hides every secret param, by its exact name, and no other', () => {
    for (const name of SECRET_PARAMS) {
      assert.equal(isSecretParamName(name), true, name);
      assert.equal(isSecretParamLength(name.length), true, name);
      assert.equal(isSecretParam(name), true, name);
    }
    for (const name of ['HTTP_HOST', 'HTTP_COOKIES', 'http_cookie', 'HTTP_AUTHORIZATIO', 'PHP_AUTH_USER', 'REMOTE_USER', '']) {
      assert.equal(isSecretParamName(name), false, name);
    }
    const pairs = SECRET_PARAMS.map((n): [string, string] => [n, `value of ${n}`]);
    assert.deepEqual(redactParams([['A', 'b'], ...pairs]), [['A', 'b'], ...SECRET_PARAMS.map((n) => [n, REDACTED])]);
    traceOptions.showSecrets = true;
    assert.deepEqual(redactParams(pairs), pairs);
    assert.equal(isSecretParam('HTTP_COOKIE'), false);
    assert.equal(isSecretParamName('HTTP_COOKIE'), true); // whatever the options
  });

  it('hides every secret header, in any case, and no other', () => {
    assert.deepEqual([...SECRET_HEADER_NAMES].sort(), SECRET_HEADERS.map((h) => h.toLowerCase()).sort());
    for (const name of SECRET_HEADERS) {
      for (const spelled of [name, name.toLowerCase(), name.toUpperCase()]) {
        assert.equal(isSecretHeader(spelled), true, spelled);
      }
      assert.equal(isSecretHeaderName(name.toLowerCase()), true, name);
    }
    for (const name of ['Content-Type', 'Set-Cookie2', 'X-Cookie', 'WWW-Authenticate']) assert.equal(isSecretHeader(name), false, name);
    const headers = SECRET_HEADERS.map((h): [string, string] => [h, `value of ${h}`]);
    assert.deepEqual(redactHeaders([['Content-Type', 'text/plain'], ...headers]),
      [['Content-Type', 'text/plain'], ...SECRET_HEADERS.map((h) => [h, REDACTED])]);
    traceOptions.showSecrets = true;
    assert.deepEqual(redactHeaders(headers), headers);
  });

  it('previews printable ASCII as it is and escapes the rest, DEL included; the ellipsis only when bytes were left out', () => {
    assert.equal(preview(Buffer.from([0x20, 0x7e, 0x7f, 0x1f, 0x80, 0x0a, 0x0d, 0x5c]), 100), ' ~\\x7f\\x1f\\x80\\n\\r\\\\');
    assert.equal(preview(Buffer.from('abcd'), 4), 'abcd');
    assert.equal(preview(Buffer.from('abcde'), 4), 'abcd…');
    assert.equal(preview(Buffer.alloc(0), 4), '');
  });
});
