import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { isClientError } from '../../src/client/errors';
import { ping, pingFailure } from '../../src/client/ping';
import { parseAddress } from '../../src/net/address';
import { startServer, tempDir } from './fixtures';

describe('ping (FCGI_GET_VALUES)', { timeout: 30_000 }, () => {
  it('returns the values the responder answers and the round-trip time', async () => {
    const running = await startServer(() => {}, { maxConns: 7, maxReqs: 9, multiplex: false });
    try {
      const result = await ping(parseAddress(running.address));
      assert.deepEqual(result.values, [['FCGI_MAX_CONNS', '7'], ['FCGI_MAX_REQS', '9'], ['FCGI_MPXS_CONNS', '0']]);
      assert.ok(result.rttMs >= 0 && result.rttMs < 5000);
      assert.equal(result.address, running.address);
    } finally {
      await running.stop();
    }
  });

  it('emits CLIENT_ERR_CONNECT when nothing listens, with the fix in one line', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const address = parseAddress(`unix:${join(dir, 'none.sock')}`);
      const err = await ping(address).catch((e: unknown) => e);
      assert.ok(isClientError(err, 'CLIENT_ERR_CONNECT'));
      assert.match(pingFailure(err, address), /no socket there \(is the FastCGI server running/);
    } finally {
      cleanup();
    }
  });

  it('emits CLIENT_ERR_TIMEOUT when the peer accepts but never answers, and CLIENT_ERR_CLOSED when it hangs up', async () => {
    const { dir, cleanup } = tempDir();
    const silent = createServer(() => {});
    const rude = createServer((s) => s.destroy());
    try {
      await new Promise<void>((r) => silent.listen(join(dir, 'silent.sock'), r));
      await new Promise<void>((r) => rude.listen(join(dir, 'rude.sock'), r));
      const timedOut = await ping(parseAddress(`unix:${join(dir, 'silent.sock')}`), 200).catch((e: unknown) => e);
      assert.ok(isClientError(timedOut, 'CLIENT_ERR_TIMEOUT'), String(timedOut));
      // The timeout given, not what was left of it after connecting ("within 193.246439 ms").
      assert.match(pingFailure(timedOut, parseAddress(`unix:${join(dir, 'silent.sock')}`)), /^unix:\S+silent.sock: no GET_VALUES_RESULT within 200 ms$/);
      const closed = await ping(parseAddress(`unix:${join(dir, 'rude.sock')}`), 2000).catch((e: unknown) => e);
      assert.ok(isClientError(closed, 'CLIENT_ERR_CLOSED'), String(closed));
      assert.match(pingFailure(closed, parseAddress(`unix:${join(dir, 'rude.sock')}`)), /closed the connection without answering/);
    } finally {
      silent.close();
      rude.close();
      cleanup();
    }
  });
});
