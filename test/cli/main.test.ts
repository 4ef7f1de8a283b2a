// The CLI's registry and error boundary: help for every command, `help CMD`, unknown commands,
// usage errors as one line.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { commandNames } from '../../src/cli/main';
import { runText } from '../client/cli-io';

const run = runText;

describe('dualcgi (main)', () => {
  it('every command answers --help with its usage, exit 0', async () => {
    for (const name of commandNames()) {
      const r = await run([name, '--help']);
      assert.equal(r.code, 0, name);
      assert.match(r.out, new RegExp(`^usage: dualcgi ${name}\\b`), name);
    }
  });

  it('help CMD is CMD --help (aliases too); help alone lists the commands', async () => {
    assert.deepEqual(await run(['help', 'request']), await run(['request', '--help']));
    assert.match((await run(['help', 'top'])).out, /^usage: dualcgi dashboard/);
    const all = await run(['help']);
    assert.equal(all.code, 0);
    for (const name of commandNames()) assert.match(all.out, new RegExp(`^ {2}${name} `, 'm'));
  });

  it('an unknown command: one line on stderr, exit 2', async () => {
    const r = await run(['bogus']);
    assert.equal(r.code, 2);
    assert.equal(r.err, "dualcgi: unknown command 'bogus' (try 'dualcgi --help')\n");
  });
});
