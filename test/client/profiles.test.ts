import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROFILE_NAMES, type ProfileRequest, profileByName, profileRefusal } from '../../src/client/profiles';

function request(over: Partial<ProfileRequest> = {}): ProfileRequest {
  return {
    method: 'GET', target: '/foo/bar?x=1', mountPoint: '', bodyLength: null,
    headers: [['Host', 'example.test:8080'], ['Authorization', 'Basic eDp5'], ['Proxy', 'http://evil'], ['X_Under', '1']],
    ...over,
  };
}

function params(name: string, over: Partial<ProfileRequest> = {}): Array<[string, string]> {
  return profileByName(name)!.params(request(over));
}

const get = (pairs: Array<[string, string]>, name: string): string | undefined => {
  let value: string | undefined;
  for (const [n, v] of pairs) if (n === name) value = v;
  return value;
};

describe('request profiles', () => {
  it('knows nginx, fcgid, proxy-fcgi and lighttpd; all use request id 1', () => {
    assert.deepEqual([...PROFILE_NAMES], ['nginx', 'fcgid', 'proxy-fcgi', 'lighttpd']);
    for (const name of PROFILE_NAMES) assert.equal(profileByName(name)!.requestId, 1);
    assert.equal(profileByName('apache2'), undefined);
  });

  it('framing and KEEP_CONN: one PARAMS record except mod_proxy_fcgi, which keeps the connection', () => {
    assert.deepEqual(PROFILE_NAMES.map((n) => [n, profileByName(n)!.framing.kind, profileByName(n)!.keepConn]), [
      ['nginx', 'one-record', false], ['fcgid', 'one-record', false], ['proxy-fcgi', 'pair-boundaries', true], ['lighttpd', 'one-record', false],
    ]);
  });

  it('nginx: SCRIPT_NAME twice (the URI, then ""), PATH_INFO $uri, HTTP_HOST without the port, empty CONTENT_*', () => {
    const p = params('nginx');
    assert.deepEqual(p.filter(([n]) => n === 'SCRIPT_NAME').map(([, v]) => v), ['/foo/bar', '']);
    assert.equal(get(p, 'PATH_INFO'), '/foo/bar');
    assert.equal(get(p, 'HTTP_HOST'), 'example.test');
    assert.equal(get(p, 'CONTENT_LENGTH'), '');
    assert.equal(get(p, 'CONTENT_TYPE'), '');
    assert.equal(get(p, 'SCRIPT_FILENAME'), '/var/www/html/foo/bar');
    assert.equal(get(p, 'HTTP_AUTHORIZATION'), 'Basic eDp5', 'nginx passes Authorization');
    assert.equal(get(p, 'HTTP_PROXY'), 'http://evil', 'nginx passes Proxy (httpoxy)');
    assert.equal(get(p, 'HTTP_X_UNDER'), undefined, 'underscores_in_headers off');
  });

  it('nginx: $uri is decoded and normalised; REQUEST_URI stays raw', () => {
    const p = params('nginx', { target: '/a/./b/../c%20d' });
    assert.equal(get(p, 'PATH_INFO'), '/a/c d');
    assert.equal(get(p, 'REQUEST_URI'), '/a/./b/../c%20d');
  });

  it('fcgid: Apache drops Authorization and Proxy, sends CONTENT_LENGTH=0 and Connection: close on a GET', () => {
    const p = params('fcgid');
    assert.equal(get(p, 'HTTP_AUTHORIZATION'), undefined);
    assert.equal(get(p, 'HTTP_PROXY'), undefined);
    assert.equal(get(p, 'CONTENT_LENGTH'), '0');
    assert.equal(get(p, 'HTTP_CONNECTION'), 'close');
    assert.equal(get(p, 'SCRIPT_NAME'), '/dispatch.fcgi');
    assert.equal(get(p, 'PATH_INFO'), '/foo/bar');
    assert.equal(get(p, 'HTTP_HOST'), 'example.test:8080');
  });

  it('lighttpd: SCRIPT_NAME "", PATH_INFO the path, drops Proxy, passes Authorization, no HTTP_CONTENT_*', () => {
    const p = params('lighttpd', { bodyLength: 3, headers: [['Content-Type', 'text/plain'], ['Proxy', 'x'], ['Authorization', 'y']] });
    assert.equal(get(p, 'SCRIPT_NAME'), '');
    assert.equal(get(p, 'PATH_INFO'), '/foo/bar');
    assert.equal(get(p, 'HTTP_PROXY'), undefined);
    assert.equal(get(p, 'HTTP_AUTHORIZATION'), 'y');
    assert.equal(get(p, 'CONTENT_LENGTH'), '3');
    assert.equal(get(p, 'CONTENT_TYPE'), 'text/plain');
    assert.equal(get(p, 'HTTP_CONTENT_TYPE'), undefined);
  });

  it('refusals: the status each server answers instead of passing the request on', () => {
    const refuse = (name: string, over: Partial<ProfileRequest>): number | undefined => {
      const profile = profileByName(name)!;
      return profileRefusal(profile, request(over), profile.params(request(over)))?.status;
    };
    assert.equal(refuse('nginx', { bodyLength: 2 * 1024 * 1024 }), 413);
    assert.equal(refuse('fcgid', { bodyLength: 131073 }), 500);
    assert.equal(refuse('fcgid', { bodyLength: 131072 }), undefined);
    assert.equal(refuse('proxy-fcgi', { bodyLength: 10 * 1024 * 1024 }), undefined);
    assert.equal(refuse('nginx', { headers: [['X-Big', 'v'.repeat(9000)]] }), 400);
    const many: Array<[string, string]> = Array.from({ length: 10 }, (_, i) => [`X-H${i}`, 'v'.repeat(900)]);
    assert.equal(refuse('lighttpd', { headers: many }), 431);
    assert.equal(refuse('nginx', { headers: many }), undefined);
    const huge: Array<[string, string]> = Array.from({ length: 10 }, (_, i) => [`X-H${i}`, 'v'.repeat(7000)]);
    assert.equal(refuse('nginx', { headers: huge }), 500, 'params over one record: "fastcgi request record is too big"');
    assert.equal(refuse('proxy-fcgi', { headers: huge }), undefined, 'mod_proxy_fcgi spreads them over several records');
  });
});
