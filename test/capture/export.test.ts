import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ExportableRequest, fromCapturedRequest, fromTracedRequest, toCurl, toEnvFile, toReplayFile, unescapePreview,
} from '../../src/capture/export';
import { parseCapture } from '../../src/capture/read';
import { extractRequests } from '../../src/capture/requests';
import { recordEntry } from '../../src/dashboard/store/requests';
import { encodeRecord, RecordType } from '../../src/protocol';
import { recordEvent } from '../../src/trace/record-event';
import { preview, traceOptions } from '../../src/trace/redact';
import { tempDir } from '../client/fixtures';

const params: Array<[string, string]> = [
  ['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/api/items?x=1&y=2'], ['HTTP_HOST', 'example.test:8080'],
  ['CONTENT_TYPE', 'application/json'], ['CONTENT_LENGTH', '13'], ['HTTP_X_REQUEST_ID', "it's 42"],
  ['HTTP_CONNECTION', 'close'], ['SCRIPT_NAME', ''], ['PATH_INFO', '/api/items'], ['HTTPS', 'on'],
  ['HTTP_ACCEPT_LANGUAGE', Buffer.from('fr-FR, ü', 'utf8').toString('latin1')], ['weird.name', 'v'],
];
const req: ExportableRequest = { params, body: Buffer.from('{"name":"a"}\n') };

describe('exports of one request (dashboard, replay --export)', () => {
  it('toCurl: method, URL, headers from the params, the body inline', () => {
    assert.equal(toCurl(req),
      "curl --path-as-is -g -H 'Content-Type: application/json' -H 'X-Request-Id: it'\\''s 42' " +
      "-H 'Accept-Language: fr-FR, ü' --data-binary '{\"name\":\"a\"}\n' 'https://example.test:8080/api/items?x=1&y=2'\n");
  });

  it('toCurl: a Host without its port (nginx\'s stock HTTP_HOST) gets SERVER_PORT unless it is the scheme\'s own', () => {
    const url = (params: Array<[string, string]>): string => toCurl({ params: [['REQUEST_URI', '/f'], ...params], body: null }).trimEnd().split(' ').at(-1)!.replace(/^'|'$/g, '');
    assert.equal(url([['HTTP_HOST', '127.0.0.1'], ['SERVER_PORT', '18480']]), 'http://127.0.0.1:18480/f');
    assert.equal(url([['HTTP_HOST', 'a.test:8080'], ['SERVER_PORT', '80']]), 'http://a.test:8080/f', 'a port in the Host is kept');
    assert.equal(url([['HTTP_HOST', '[::1]'], ['SERVER_PORT', '8443'], ['HTTPS', 'on']]), 'https://[::1]:8443/f');
    assert.equal(url([['HTTP_HOST', '[::1]:81'], ['SERVER_PORT', '81']]), 'http://[::1]:81/f');
    assert.equal(url([['HTTP_HOST', 'a.test'], ['SERVER_PORT', '443'], ['HTTPS', 'on']]), 'https://a.test/f');
    assert.equal(url([['HTTP_HOST', 'a.test'], ['SERVER_PORT', '80']]), 'http://a.test/f');
  });

  it('toCurl: -X for methods curl would not infer, --data-binary @file for binary bodies, a note for unknown ones', () => {
    const put = toCurl({ params: [['REQUEST_METHOD', 'PUT'], ['REQUEST_URI', '/x']], body: Buffer.from([0, 1, 2]) });
    assert.match(put, /^# the 3-byte body goes in request\.body\ncurl --path-as-is -g -X PUT --data-binary @request\.body http:\/\/localhost\/x\n$/);
    const unknown = toCurl({ params: [['REQUEST_URI', '/y'], ['SERVER_NAME', 'h'], ['SERVER_PORT', '81']], body: null });
    assert.match(unknown, /^# the body was not traced.*\ncurl --path-as-is -g http:\/\/h:81\/y\n$/);
    assert.match(toCurl(req, { baseUrl: 'http://127.0.0.1:8080/' }), / 'http:\/\/127\.0\.0\.1:8080\/api\/items\?x=1&y=2'\n$/);
  });

  it('toEnvFile: sh sources it into the very environment (quotes, UTF-8); other names are comments', () => {
    const { dir, cleanup } = tempDir();
    try {
      const text = toEnvFile(req);
      assert.match(text, /^# POST \/api\/items\?x=1&y=2 as a CGI environment/);
      assert.match(text, /\n# not a shell name: "weird\.name"="v"\n/);
      writeFileSync(join(dir, 'request.env'), text);
      const env = execFileSync('/bin/sh', ['-c', 'set -a; . ./request.env; printf "%s|%s" "$HTTP_X_REQUEST_ID" "$HTTP_ACCEPT_LANGUAGE"'], { cwd: dir, encoding: 'utf8' });
      assert.equal(env, "it's 42|fr-FR, ü");
    } finally {
      cleanup();
    }
  });

  it('toReplayFile: a capture that replay reads back into the same request', () => {
    const [r] = extractRequests(parseCapture(toReplayFile(req, { from: 'test' })));
    assert.deepEqual(r!.params, params);
    assert.equal(r!.stdin.toString(), '{"name":"a"}\n');
    assert.equal(r!.complete, true);
    const again = toReplayFile(fromCapturedRequest(r!));
    assert.deepEqual(extractRequests(parseCapture(again))[0]!.records, r!.records, 'a captured request keeps its framing');
  });

  it('fromTracedRequest: the body from whole, unredacted STDIN previews; else null', () => {
    const body = Buffer.from('a\\b\r\n\x00\xff', 'latin1');
    assert.deepEqual(unescapePreview(preview(body)), body);
    const records = [
      { dir: 'in', type: 'BEGIN_REQUEST', contentLength: 8, keepConn: true },
      { dir: 'in', type: 'STDIN', contentLength: body.length, preview: preview(body) },
      { dir: 'in', type: 'STDIN', contentLength: 0 },
    ];
    const traced = fromTracedRequest({ params, records });
    assert.deepEqual(traced.body, body);
    assert.equal(traced.keepConn, true);
    assert.equal(fromTracedRequest({ params, records: [{ dir: 'in', type: 'STDIN', contentLength: 5, redacted: true }] }).body, null);
    assert.equal(fromTracedRequest({ params, records: [{ dir: 'in', type: 'STDIN', contentLength: 300, preview: 'x…' }] }).body, null);
    assert.deepEqual(fromTracedRequest({ params: [['CONTENT_LENGTH', '0']], records: [] }).body, Buffer.alloc(0));
  });

  it('fromTracedRequest takes the dashboard\'s entries as they are: trace event -> store entry -> curl', () => {
    const body = Buffer.from('q=1&r=2');
    traceOptions.showSecrets = true;
    let entry;
    try {
      entry = recordEntry(recordEvent({ version: 1, type: RecordType.Stdin, requestId: 1, contentLength: body.length, paddingLength: 1,
        content: encodeRecord(RecordType.Stdin, 1, body).subarray(8, 8 + body.length) }, 'in', 1, 'fcgi') as unknown as Record<string, unknown>);
    } finally {
      traceOptions.showSecrets = false;
    }
    const traced = fromTracedRequest({ params: [['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/f']], records: [entry], recordsOmitted: 0 });
    assert.equal(toCurl(traced), "curl --path-as-is -g --data-binary 'q=1&r=2' http://localhost/f\n");
  });
});
