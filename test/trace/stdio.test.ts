// trace/stdio in CGI mode writes fds 1 and 2 directly; these tests run it in a child process whose
// stdout is a pipe (as under Apache), a pipe made non-blocking (EAGAIN: the stream takes over) or a
// pipe nobody reads any more (EPIPE: the write's callback gets the error).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const stdio = resolve(__dirname, '../../src/trace/stdio');
const guard = resolve(__dirname, '../../src/cgi/stdout-guard');

/** child: a node -e script with the two modules loaded as `s` (trace/stdio) and `g` (cgi/stdout-guard). */
function child(body: string): string {
  return `const s = require(${JSON.stringify(stdio)}); const g = require(${JSON.stringify(guard)});\n${body}`;
}

describe('trace/stdio: direct writes of a CGI hit', () => {
  it('writes fds 1 and 2 with writeSync, and the guard sends console.log to stderr, building stdout only then', () => {
    const r = spawnSync(process.execPath, ['-e', child(`
      s.useDirectWrites();
      const out = g.guardStdout();
      out.write(Buffer.from('Status: 200 OK\\r\\n\\r\\nbody'), (err) => {
        const before = s.stdioStreamsBuilt();
        s.originalStderrWrite('diagnostic\\n');
        console.log('from the app');
        s.originalStderrWrite(JSON.stringify({ before, after: s.stdioStreamsBuilt(), err: err ?? null }) + '\\n');
      });
    `)], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Status: 200 OK\r\n\r\nbody');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines[0], 'diagnostic');
    assert.equal(lines[1], 'from the app');
    assert.deepEqual(JSON.parse(lines[2]!), { before: { stdout: false, stderr: false }, after: { stdout: true, stderr: false }, err: null });
  });

  it('once the app built process.stdout (a non-blocking pipe), EAGAIN hands the rest to the stream: every byte, in order', async () => {
    const chunks = 16;
    const size = 64 * 1024;
    // console.log builds process.stdout through the guard: Node makes the pipe non-blocking, so
    // the direct writes of 1 MiB into a pipe nobody reads yet meet EAGAIN.
    const proc = spawn(process.execPath, ['-e', child(`
      s.useDirectWrites();
      const out = g.guardStdout();
      console.log('the app logs');
      let done = 0;
      for (let i = 0; i < ${chunks}; i++) {
        out.write(Buffer.alloc(${size}, 65 + (i % 26)), (err) => {
          if (err) { s.originalStderrWrite('ERR ' + err.code + '\\n'); process.exit(3); }
          if (++done === ${chunks}) s.originalStderrWrite(JSON.stringify(s.stdioStreamsBuilt()) + '\\n');
        });
      }
    `)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const got: Buffer[] = [];
    // The listener at once, then paused: a stream with no 'data' listener when the child exits is
    // drained and discarded by child_process (a machine whose socket send buffers hold 1 MiB lets
    // the child finish and exit before the 300 ms are up).
    proc.stdout.on('data', (b: Buffer) => got.push(b));
    proc.stdout.pause();
    setTimeout(() => proc.stdout.resume(), 300);
    const code = await new Promise<number | null>((res) => proc.once('close', res));
    assert.equal(code, 0, stderr);
    const all = Buffer.concat(got);
    assert.equal(all.length, chunks * size);
    for (let i = 0; i < chunks; i++) {
      const part = all.subarray(i * size, (i + 1) * size);
      assert.ok(part.every((b) => b === 65 + (i % 26)), `chunk ${i} out of order or corrupted`);
    }
    assert.match(stderr, /^the app logs\n/);
    assert.match(stderr, /"stdout":true/);
  });

  it('a stdout nobody reads (EPIPE) gives the write callback the error; the process is not killed', () => {
    const r = spawnSync('/bin/sh', ['-c', `"${process.execPath}" -e "$SCRIPT" | true`], {
      env: { ...process.env, SCRIPT: child(`
        s.useDirectWrites();
        const out = g.guardStdout();
        setTimeout(() => out.write(Buffer.alloc(1024, 120), (err) => {
          s.originalStderrWrite('callback ' + (err ? err.code : 'ok') + '\\n');
        }), 300);
      `) },
      encoding: 'utf8', timeout: 20_000,
    });
    assert.match(r.stderr, /callback EPIPE/);
  });
});
