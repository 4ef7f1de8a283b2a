// The flag readers every command shares.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseArgs, secondsMs } from '../../src/cli/args';
import { UsageError } from '../../src/cli/errors';
import { runText } from '../client/cli-io';

const read = (argv: string[], fallback = '30', zeroMeans?: string): number =>
  secondsMs(parseArgs(argv, { timeout: { type: 'string' } }), 'timeout', fallback, zeroMeans);

describe('secondsMs: a --timeout SECONDS flag', () => {
  it('reads digits with an optional fraction, rounded up to milliseconds; the fallback when absent', () => {
    assert.equal(read(['--timeout', '2']), 2000);
    assert.equal(read(['--timeout', '0.0005']), 1);
    assert.equal(read([]), 30_000);
    assert.equal(read(['--timeout', '0'], '30', 'none'), 0);
  });

  it('refuses what Number() would have read: hex, exponents, signs, an empty value, and 0 where 0 means nothing', () => {
    for (const value of ['0x10', '1e1', '-1', '', ' 5', '5s', 'Infinity', '0']) {
      assert.throws(() => read(['--timeout', value]), (err) => err instanceof UsageError && /--timeout expects seconds above 0/.test(err.message), value);
    }
  });

  it('reload, lint, ping, replay and request share it: `reload --timeout 0x10` is a usage error (exit 2)', async () => {
    const r = await runText(['reload', '--timeout', '0x10']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--timeout expects seconds above 0, got "0x10"/);
  });
});
