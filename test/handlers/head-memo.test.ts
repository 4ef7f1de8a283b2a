import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequestHead, type RequestHeadOptions } from '../../src/cgi/request-head';
import { decodeParamList } from '../../src/fastcgi/param-list';
import { normaliseLimits } from '../../src/fastcgi/limits';
import { requestHeadOf } from '../../src/handlers/head-memo';
import { encodePairs } from '../../src/protocol';

const limits = normaliseLimits({});
const options: RequestHeadOptions = { stripMountPoint: true };

/** nginxLike: a request's PARAMS as nginx sends them, with this REMOTE_PORT, URI and Host. */
function nginxLike(port: string, uri = '/a', host = 'h.example'): Array<[string, string]> {
  return [
    ['REQUEST_METHOD', 'GET'], ['REQUEST_URI', uri], ['SCRIPT_NAME', ''], ['PATH_INFO', uri], ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REMOTE_ADDR', '10.0.0.1'], ['REMOTE_PORT', port], ['SERVER_ADDR', '10.0.0.2'], ['SERVER_PORT', '8080'],
    ['HTTP_HOST', host], ['HTTP_ACCEPT', '*/*'],
  ];
}

/** headOf: the head requestHeadOf gives for these pairs, decoded as the FastCGI side does. */
function headOf(pairs: Array<[string, string]>, opts = options): ReturnType<typeof createRequestHead> {
  return requestHeadOf(decodeParamList(encodePairs(pairs), limits), opts);
}

describe('requestHeadOf: the last head remembered', () => {
  it('gives createRequestHead\'s head when only REMOTE_PORT changed, with rawHeaders of its own', () => {
    headOf(nginxLike('40000')); // the decoder remembers a stream of the same length as the one before
    const first = headOf(nginxLike('40001'));
    assert.deepEqual(first, createRequestHead(decodeParamList(encodePairs(nginxLike('40001')), limits), options));
    first.rawHeaders.push('x-app', 'changed it'); // an app may change req.rawHeaders
    const list = decodeParamList(encodePairs(nginxLike('40002')), limits);
    assert.equal(list.remembered, true, 'a recalled list');
    const second = requestHeadOf(list, options);
    assert.deepEqual(second, createRequestHead(decodeParamList(encodePairs(nginxLike('40002')), limits), options));
    assert.equal(second.remotePort, 40002);
    assert.notEqual(second.rawHeaders, first.rawHeaders);
    second.rawHeaders.length = 0;
    const third = headOf(nginxLike('40002'));
    assert.equal(third.remotePort, 40002, 'the same values again');
    assert.deepEqual(third.rawHeaders, ['host', 'h.example', 'accept', '*/*']);
    const odd = headOf(nginxLike('4000x'));
    assert.equal(odd.remotePort, 0, 'not a port: 0, as createRequestHead reads it');
  });

  it('maps again when another value changed, or under other options', () => {
    headOf(nginxLike('40001', '/a'));
    headOf(nginxLike('40001', '/a'));
    const moved = headOf(nginxLike('40001', '/b'));
    assert.equal(moved.url, '/b');
    const host = headOf(nginxLike('40001', '/b', 'i.example'));
    assert.deepEqual(host.rawHeaders, ['host', 'i.example', 'accept', '*/*']);
    const whole = headOf(nginxLike('40001', '/b', 'i.example'), { stripMountPoint: false });
    assert.deepEqual(whole, createRequestHead(decodeParamList(encodePairs(nginxLike('40001', '/b', 'i.example')), limits), { stripMountPoint: false }));
  });

  it('gives a recalled head the port it was sent with when nothing changed (a client\'s keep-alive connection)', () => {
    headOf(nginxLike('40005', '/k'));
    const list = decodeParamList(encodePairs(nginxLike('40006', '/j')), limits);
    assert.equal(list.remembered, true);
    const mapped = requestHeadOf(list, options); // mapped in full (the URI changed) and remembered
    assert.equal(mapped.remotePort, 40006);
    const same = headOf(nginxLike('40006', '/j')); // recalled: the same values
    assert.equal(same.remotePort, 40006);
    assert.deepEqual(same, createRequestHead(decodeParamList(encodePairs(nginxLike('40006', '/j')), limits), options));
  });

  it('recalls a head only under the options it was mapped with: a mount point stripped or not', () => {
    const mounted = (port: string): Array<[string, string]> => nginxLike(port, '/app/x').map(([n, v]): [string, string] => (n === 'SCRIPT_NAME' ? [n, '/app'] : n === 'PATH_INFO' ? [n, '/x'] : [n, v]));
    headOf(mounted('40010'));
    assert.equal(headOf(mounted('40011')).url, '/x');
    assert.equal(headOf(mounted('40012')).url, '/x');
    const whole = headOf(mounted('40012'), { stripMountPoint: false });
    assert.equal(whole.url, '/app/x');
    assert.deepEqual(whole, createRequestHead(decodeParamList(encodePairs(mounted('40012')), limits), { stripMountPoint: false }));
  });

  it('maps params without name and value lists (a Map) each time', () => {
    const map = new Map(nginxLike('40001'));
    assert.deepEqual(requestHeadOf(map, options), createRequestHead(map, options));
    map.set('REQUEST_URI', '/c');
    map.set('PATH_INFO', '/c');
    assert.equal(requestHeadOf(map, options).url, '/c');
  });
});
