// The client side under hostile input: what `dualcgi request` (and lint, tap, dev) read back from
// a FastCGI app it did not write: a broken worker, another language's server, a wrong port. A
// reply of any shape must end the request with a response or a ClientError, never with another
// exception and never by hanging.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCgiResponse } from '../../src/client/cgi-response';
import { ClientError } from '../../src/client/errors';
import { fastcgiRequest } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';
import { encodeEndRequest, encodeGetValuesResult, encodeRecord, RecordType } from '../../src/protocol';
import { mutate, Rng } from './mutate';

const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? '1.5');

/** reply: what a responder sends for request 1, in one of a few shapes. */
function reply(rng: Rng): Buffer[] {
  const head = ['Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n', 'Content-Type: text/html\n\n', 'Location: /elsewhere\r\n\r\n',
    'Status: 200\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n'][rng.int(4)]!;
  const body = rng.bytes(rng.int(3000));
  const out: Buffer[] = [];
  if (rng.int(4) === 0) out.push(encodeGetValuesResult([['FCGI_MPXS_CONNS', '1']]));
  if (rng.int(3) === 0) out.push(encodeRecord(RecordType.Stderr, 1, Buffer.from('warning from the app\n')));
  const stdout = Buffer.concat([Buffer.from(head, 'latin1'), body]);
  for (let o = 0; o < stdout.length;) {
    const n = 1 + rng.int(Math.min(65535, stdout.length - o));
    out.push(encodeRecord(RecordType.Stdout, 1, stdout.subarray(o, o + n)));
    o += n;
  }
  out.push(encodeRecord(RecordType.Stdout, 1), encodeEndRequest(1, rng.int(3), rng.int(4)));
  return out;
}

describe('the FastCGI client under hostile replies (seeded, time-bounded; FUZZ_SECONDS for longer runs)', () => {
  let dir = '';
  let server: Server;
  let next: Buffer = Buffer.alloc(0);
  let address = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dualcgi-fuzz-client-'));
    const path = join(dir, 'app.sock');
    // Each connection gets the reply set for it once the request is in, then the end of the connection.
    server = createServer((socket) => {
      const bytes = next;
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.end(bytes);
      });
    });
    await new Promise<void>((ok) => server.listen(path, ok));
    address = `unix:${path}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('end every request with a response or a ClientError, and never hang', async (t) => {
    const deadline = Date.now() + SECONDS * 1000;
    let runs = 0;
    let responses = 0;
    for (let seed = 1; Date.now() < deadline; seed++, runs++) {
      const rng = new Rng(seed);
      const records = reply(rng);
      next = rng.int(15) === 0 ? rng.bytes(rng.int(300)) : rng.int(4) === 0 ? Buffer.concat(records) : mutate(rng, records);
      const body = rng.int(3) === 0 ? rng.bytes(rng.int(70_000)) : undefined;
      const params = buildCgiParams({ target: `/f/${seed}?x=1`, method: body ? 'POST' : 'GET', ...(body ? { bodyLength: body.length } : {}) });
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<'hung'>((ok) => {
        timer = setTimeout(() => ok('hung'), 5000);
      });
      try {
        const outcome = await Promise.race([fastcgiRequest(address, { params, ...(body ? { body } : {}) }), hung]);
        assert.notEqual(outcome, 'hung', `seed ${seed}: the request never ended`);
        if (outcome !== 'hung') {
          responses++;
          try {
            parseCgiResponse(outcome.stdout);
          } catch (err) {
            if (!(err instanceof ClientError)) throw err;
          }
        }
      } catch (err) {
        if (!(err instanceof ClientError)) assert.fail(`seed ${seed}: ${(err as Error).stack ?? String(err)}`);
      } finally {
        clearTimeout(timer);
      }
    }
    t.diagnostic(`${runs} replies, ${responses} made a response`);
    assert.ok(runs > 50, `only ${runs} runs in ${SECONDS}s`);
    assert.ok(responses > runs / 10, `only ${responses} of ${runs} replies made a response: the mutations break too much`);
  });
});
