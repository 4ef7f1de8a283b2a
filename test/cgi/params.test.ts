import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { paramsFromEnv, paramsFromPairs } from '../../src/cgi/params';
import { decodePairs, encodePairs } from '../../src/protocol';

describe('paramsFromPairs', () => {
  it('keeps every pair, in order', () => {
    const params = paramsFromPairs([['REQUEST_METHOD', 'GET'], ['QUERY_STRING', '']]);
    assert.deepEqual([...params], [['REQUEST_METHOD', 'GET'], ['QUERY_STRING', '']]);
  });

  it('lets the last duplicate win (nginx sends SCRIPT_NAME twice)', () => {
    const params = paramsFromPairs([['SCRIPT_NAME', '/foo/bar'], ['PATH_INFO', '/foo/bar'], ['SCRIPT_NAME', '']]);
    assert.equal(params.get('SCRIPT_NAME'), '');
    assert.equal(params.size, 2);
  });

  it('lets the last duplicate win when the pairs come off the wire', () => {
    const wire = encodePairs([['HTTPS', 'on'], ['HTTPS', 'off'], ['HTTPS', 'on2']]);
    assert.equal(paramsFromPairs(decodePairs(wire)).get('HTTPS'), 'on2');
  });
});

describe('paramsFromEnv', () => {
  it('passes ASCII values through unchanged', () => {
    const params = paramsFromEnv({ REQUEST_METHOD: 'GET', PATH_INFO: '/foo/bar', QUERY_STRING: 'x=1&y=%C3%A9' });
    assert.equal(params.get('PATH_INFO'), '/foo/bar');
    assert.equal(params.get('QUERY_STRING'), 'x=1&y=%C3%A9');
  });

  it('re-encodes non-ASCII UTF-8 to latin-1, the form FastCGI PARAMS give', () => {
    const params = paramsFromEnv({ PATH_INFO: '/café', HTTP_X_NAME: '日本' });
    assert.equal(params.get('PATH_INFO'), '/caf\u00c3\u00a9');
    assert.equal(params.get('HTTP_X_NAME'), '\u00e6\u0097\u00a5\u00e6\u009c\u00ac');
    // The same bytes through the FastCGI side give the same string.
    const fromWire = decodePairs(Buffer.concat([Buffer.from([9, 6]), Buffer.from('PATH_INFO/café', 'utf8')]));
    assert.deepEqual(fromWire, [['PATH_INFO', params.get('PATH_INFO')]]);
  });

  it('skips variables whose value is undefined and keeps empty ones', () => {
    const params = paramsFromEnv({ CONTENT_LENGTH: '', MISSING: undefined });
    assert.equal(params.get('CONTENT_LENGTH'), '');
    assert.equal(params.has('MISSING'), false);
  });

  it('re-encodes a real CGI environment: the UTF-8 bytes the server set reach the app as latin-1', () => {
    assert.equal(pathInfoInChild('/caf\\303\\251'), Buffer.from('/café', 'utf8').toString('hex'));
  });

  // process.env is already decoded as UTF-8: bytes that are not UTF-8 (a request for /%FF gives
  // PATH_INFO "/\xff") would come back as U+FFFD -> EF BF BD; the raw environment keeps "\xff".
  it('keeps a PATH_INFO byte that is not UTF-8 (0xFF) in CGI mode as FastCGI does', () => {
    assert.equal(pathInfoInChild('/\\377'), '2fff');
  });

  it('reads the raw environment through a function only when a value is not ASCII, and once', () => {
    let calls = 0;
    const raw = (): Map<string, string> => { calls++; return new Map([['PATH_INFO', '/\xff'], ['X', '\xe9']]); };
    assert.equal(paramsFromEnv({ PATH_INFO: '/a', X: 'b' }, raw).get('PATH_INFO'), '/a');
    assert.equal(calls, 0);
    const params = paramsFromEnv({ PATH_INFO: '/\ufffd', X: '\ufffd' }, raw);
    assert.equal(calls, 1);
    assert.equal(params.get('PATH_INFO'), '/\xff');
    assert.equal(params.get('X'), '\xe9');
  });

  it('keeps the function form as the lazy CGI dispatch uses it: the 0xFF byte of PATH_INFO', () => {
    assert.equal(pathInfoInChild('/\\377', 'readRawEnviron'), '2fff');
  });
});

/**
 * pathInfoInChild: hex of the PATH_INFO bytes paramsFromEnv gives in a fresh process whose
 * environment holds the bytes printf makes of `printfFormat` (set through /bin/sh, because
 * node's spawn can pass environment values only as UTF-8 strings).
 */
function pathInfoInChild(printfFormat: string, raw = 'readRawEnviron()'): string {
  const paramsModule = require.resolve('../../src/cgi/params');
  const script = `const { paramsFromEnv, readRawEnviron } = require(${JSON.stringify(paramsModule)});
    process.stdout.write(Buffer.from(paramsFromEnv(process.env, ${raw}).get('PATH_INFO'), 'latin1').toString('hex'));`;
  const child = spawnSync('/bin/sh', ['-c', `PATH_INFO="$(printf '${printfFormat}')" exec "$0" -e "$1"`,
    process.execPath, script], { env: {}, encoding: 'utf8' });
  assert.equal(child.stderr, '');
  return child.stdout;
}
