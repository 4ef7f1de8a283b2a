// The CLI's registry and error boundary: help for every command, `help CMD`, unknown commands,
// usage errors as one line.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CAPTURE_FORMAT } from '../../src/capture/writer';
import { commandNames } from '../../src/cli/main';
import { RecordType, Role, encodeBeginRequest, encodeParams, encodeRecord } from '../../src/protocol';
import { runText } from '../client/cli-io';
import { tempDir } from '../client/fixtures';

const bin = resolve(__dirname, '../../../bin/dualcgi');

/** withClosedStdout: run the CLI with a stdout pipe whose reader has gone (`dualcgi ... | head -0`). */
function withClosedStdout(argv: string[]): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let err = '';
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  return new Promise((done) => child.on('close', (code) => done({ code, err })));
}

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

  it('a reader that goes away (| head) ends the command quietly, exit 0: no EPIPE stack', async () => {
    const { dir, cleanup } = tempDir();
    try {
      // A capture of 2000 requests: replay --list writes far more than a pipe holds.
      const lines = [JSON.stringify({ capture: CAPTURE_FORMAT, version: 1, id: 't', start: 0, pid: 1, meta: {} })];
      const request = Buffer.concat([encodeBeginRequest(1, Role.Responder, 1),
        ...encodeParams(1, [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/x']]), encodeRecord(RecordType.Stdin, 1)]);
      for (let i = 0; i < 2000; i++) lines.push(JSON.stringify({ t: i, dir: 'in', data: request.toString('base64') }));
      const file = join(dir, 'many.fcgicap');
      writeFileSync(file, `${lines.join('\n')}\n`);
      for (const argv of [['replay', file, '--list'], ['help']]) {
        const r = await withClosedStdout(argv);
        assert.equal(r.err, '', argv.join(' '));
        assert.equal(r.code, 0, argv.join(' '));
      }
    } finally {
      cleanup();
    }
  });
});

