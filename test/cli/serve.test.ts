// `dualcgi serve` as a command, run as a user runs it: mistakes in the arguments are one line and
// exit 2 before anything is served; an APP that does not exist is one line and exit 1.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve(__dirname, '../../../bin/dualcgi');

/** serve: the CLI in a child (a flag read wrongly would serve, and the timeout says so). */
function serve(args: string[], cwd: string): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [bin, 'serve', ...args], {
    cwd, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', DUALCGI_RUN_DIR: 'off', DUALCGI_TRACE: 'off' },
  });
  return { code: r.status, stderr: r.stderr };
}

describe('dualcgi serve (command)', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-serve-cli-'));
  writeFileSync(join(dir, 'app.js'), "module.exports = (req, res) => res.end('x');\n");
  const bind = `unix:${join(dir, 'app.sock')}`;

  it('a number flag with trailing letters, or a mode that is not octal, is a usage error (not its prefix)', () => {
    for (const flag of [['--workers', '1a'], ['--timeout', '1e'], ['--max-conns', '0x10'], ['--socket-mode', '689'], ['--drain-timeout', '5s']]) {
      const r = serve([...flag, '--bind', bind, 'app.js'], dir);
      assert.equal(r.code, 2, `${flag.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^dualcgi serve: ${flag[0]} expects [^\\n]+ got "${flag[1]}" \\(usage: dualcgi serve --help\\)\\n$`));
    }
  });

  it('an APP that does not exist: one line naming it, exit 1', () => {
    const r = serve(['--bind', bind, 'nope.js'], dir);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `dualcgi serve: no such app: ${join(dir, 'nope.js')} (APP is the file that exports the app, e.g. app.js)\n`);
  });

  it('run from a shell without --bind: one line asking for --bind, exit 2', () => {
    const r = serve(['app.js'], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^dualcgi serve: nothing to serve on: give --bind unix:\/path\.sock or HOST:PORT [^\n]*\n$/);
  });

  it('--help lists every flag serve takes', () => {
    const r = spawnSync(process.execPath, [bin, 'serve', '--help'], { encoding: 'utf8' });
    for (const flag of ['--max-conns', '--max-reqs', '--no-multiplex', '--no-strip-mount', '--no-register', '--capture']) {
      assert.ok(r.stdout.includes(flag), flag);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
