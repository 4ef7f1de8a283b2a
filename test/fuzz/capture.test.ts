// Capture files under hostile input: what `dualcgi replay` and the exports read. A capture is a
// file anyone may hand over ("here is the request that breaks it"), cut by a crash, or edited by
// hand; reading one may fail only with a CaptureError, never with anything else.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureError } from '../../src/capture/errors';
import { fromCapturedRequest, toCurl, toEnvFile, toReplayFile } from '../../src/capture/export';
import { parseCapture } from '../../src/capture/read';
import { cgiEnvironment, describeRequest, replayRecords, selectRequest } from '../../src/capture/replay';
import { extractRequests } from '../../src/capture/requests';
import { CAPTURE_FORMAT } from '../../src/capture/writer';
import { encodeEndRequest, encodeRecord, RecordType } from '../../src/protocol';
import { mutate, Rng, validStream } from './mutate';

const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? '1');

/** response: what a responder writes back for request `id`. */
function response(rng: Rng, id: number): Buffer[] {
  const body = rng.bytes(rng.int(200));
  return [encodeRecord(RecordType.Stdout, id, Buffer.concat([Buffer.from('Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n'), body])),
    encodeRecord(RecordType.Stdout, id), encodeEndRequest(id, 0, 0)];
}

/** captureText: a capture of one or two exchanges, their bytes mutated, cut into chunks; then its lines mutated. */
function captureText(rng: Rng): string {
  const lines = [JSON.stringify({ capture: CAPTURE_FORMAT, version: 1, id: 'fuzz', start: 0, pid: 1, meta: { mode: 'fcgi' } })];
  let t = 0;
  for (let n = 1 + rng.int(2); n > 0; n--) {
    const request = validStream(rng);
    const id = request.find((r) => r[1] === RecordType.BeginRequest)?.readUInt16BE(2) ?? 1;
    for (const [dir, records] of [['in', request], ['out', response(rng, id)]] as const) {
      const bytes = rng.int(3) === 0 ? mutate(rng, [...records]) : Buffer.concat(records);
      for (let o = 0; o < bytes.length;) {
        const size = 1 + rng.int(Math.max(1, bytes.length - o));
        lines.push(JSON.stringify({ t: t++, dir, data: bytes.subarray(o, o + size).toString('base64') }));
        o += size;
      }
    }
  }
  if (rng.int(3) === 0) lines.push(JSON.stringify({ end: true, bytes: 1, chunks: lines.length - 1 }));
  for (let n = rng.int(3); n > 0; n--) {
    const i = 1 + rng.int(lines.length - 1);
    switch (rng.int(5)) {
      case 0: lines[i] = lines[i]!.slice(0, rng.int(lines[i]!.length)); break; // a torn line
      case 1: lines[i] = lines[i]!.replace(/"t":\d+/, `"t":${['-1', '1e999', '"x"', 'null', '[]'][rng.int(5)]}`); break;
      case 2: lines[i] = lines[i]!.replace(/"dir":"(in|out)"/, `"dir":${['"sideways"', '1', 'null'][rng.int(3)]}`); break;
      case 3: lines[i] = lines[i]!.replace(/"data":"/, `"data":"${['!!', '====', '\\u0000'][rng.int(3)]}`); break;
      default: lines.splice(i, 0, rng.bytes(rng.int(80)).toString('latin1').replace(/\n/g, ''));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** readAll: everything replay and the exports do with a capture. */
function readAll(text: string): number {
  const requests = extractRequests(parseCapture(text, 'fuzz.ndjson'));
  for (const r of requests) {
    replayRecords(r);
    cgiEnvironment(r);
    describeRequest(r);
    const req = fromCapturedRequest(r);
    toCurl(req);
    toEnvFile(req);
    toReplayFile(req, { mode: 'fcgi' });
  }
  if (requests.length > 0) selectRequest(requests, 'fuzz.ndjson', 1 + (requests.length >> 1));
  return requests.length;
}

describe('capture files under hostile input (seeded, time-bounded; FUZZ_SECONDS for longer runs)', () => {
  it('read back their requests unchanged, and fail on anything else only with a CaptureError', (t) => {
    // Unmutated, a capture of two exchanges is two requests: what the mutations start from.
    const whole = [JSON.stringify({ capture: CAPTURE_FORMAT, version: 1, id: 'x', start: 0, pid: 1, meta: {} })];
    const rng0 = new Rng(7);
    for (let n = 0; n < 2; n++) {
      const request = validStream(rng0).filter((r) => r[1] !== RecordType.AbortRequest && r[1] !== RecordType.GetValues);
      whole.push(JSON.stringify({ t: 0, dir: 'in', data: Buffer.concat(request).toString('base64') }));
      whole.push(JSON.stringify({ t: 1, dir: 'out', data: Buffer.concat(response(rng0, request[0]!.readUInt16BE(2))).toString('base64') }));
    }
    assert.equal(readAll(`${whole.join('\n')}\n`), 2);

    const deadline = Date.now() + SECONDS * 1000;
    let runs = 0;
    let found = 0;
    for (let seed = 1; Date.now() < deadline; seed++, runs++) {
      const rng = new Rng(seed);
      try {
        found += readAll(captureText(rng));
      } catch (err) {
        if (!(err instanceof CaptureError)) assert.fail(`seed ${seed}: ${(err as Error).stack ?? String(err)}`);
      }
    }
    t.diagnostic(`${runs} captures, ${found} requests read from them`);
    assert.ok(runs > 50, `only ${runs} runs in ${SECONDS}s`);
    assert.ok(found > runs / 2, `requests found in only ${found} of ${runs} captures: the mutations break too much`);
  });
});
