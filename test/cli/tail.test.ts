import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main';
import { cgiRequest, fcgiRequest, ndjson, processStart, sendLines, waitFor } from '../dashboard/fixtures';
import { groupLine, noteLine, RequestGroup } from '../../src/trace/request-group';
import type { TraceNote } from '../../src/trace/notes';
import { helloNotes } from '../trace/notes-fixture';

/** grouped: the one line a socket sink sends for these notes of one turn. */
function grouped(notes: TraceNote[]): string {
  const g = new RequestGroup(notes[0]!);
  for (const n of notes) g.add(n);
  return groupLine(g);
}

/** capture: a stdout/stderr that keeps what is written. */
function capture(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      stream.text += chunk.toString();
      cb();
    },
  }) as Writable & { text: string };
  stream.text = '';
  return stream;
}

async function withTail(args: string[], body: (path: string, out: { stdout: string; stderr: string }) => Promise<void>): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-tail-'));
  const path = join(dir, 'trace.sock');
  const stdout = capture();
  const stderr = capture();
  const running = main(['tail', '--listen', `unix:${path}`, ...args], { stdout, stderr });
  try {
    await waitFor(() => stderr.text.includes('listening on'), 'tail to listen');
    await body(path, { get stdout() { return stdout.text; }, get stderr() { return stderr.text; } });
  } finally {
    process.emit('SIGTERM');
  }
  const code = await running;
  assert.equal(existsSync(path), false, 'the socket file is removed');
  rmSync(dir, { recursive: true, force: true });
  return code;
}

describe('dualcgi tail', () => {
  it('prints pretty lines of events from several producers, owner-only socket', async () => {
    const code = await withTail([], async (path, out) => {
      assert.equal(statSync(path).mode & 0o777, 0o600);
      // Under Apache and lighttpd an environment variable never reaches the app: the hint names the file too.
      assert.equal(out.stderr, `dualcgi tail: listening on unix:${path} (point the app at it: DUALCGI_TRACE=unix:${path}, ` +
        'or that line in a .dualcgi-trace file next to its entry script)\n');
      await sendLines(path, ndjson([processStart(4242, 'fcgi'), ...fcgiRequest({ uri: '/foo', crash: true })]));
      await sendLines(path, ndjson(cgiRequest({ pid: 900, uri: '/cgi' })));
      await sendLines(path, 'not json \x1b[2J at all\n');
      await waitFor(() => out.stdout.includes('not json'), 'the text line');
      assert.match(out.stdout, /ERROR: GET \/foo 500 12ms 1\.2kB pid 4242 fcgi/);
      assert.match(out.stdout, /INFO: GET \/cgi 200 12ms 1\.2kB pid 900 cgi/);
      assert.match(out.stdout, /INFO \(4242\): loaded item 1/);
      assert.match(out.stdout, /Error: boom: database unreachable\n {8}at handler/);
      assert.ok(!out.stdout.includes('BEGIN_REQUEST'), 'records only with -v');
      assert.ok(!out.stdout.includes('\x1b'), 'no colors and no escapes when not a terminal');
      assert.match(out.stderr, /DUALCGI_TRACE=unix:/);
    });
    assert.equal(code, 0);
  });

  it('-v adds one line per record', async () => {
    await withTail(['-v'], async (path, out) => {
      await sendLines(path, ndjson(fcgiRequest({ uri: '/v' })));
      await waitFor(() => out.stdout.includes('GET /v 200'), 'the summary');
      for (const type of ['BEGIN_REQUEST', 'PARAMS', 'STDIN', 'STDOUT', 'END_REQUEST']) assert.match(out.stdout, new RegExp(`DEBUG: [→←] (in|out) +${type} +id=1`));
    });
  });

  it('--json passes events through as NDJSON, and other lines to stderr', async () => {
    await withTail(['--json'], async (path, out) => {
      const events = fcgiRequest({ uri: '/j' });
      await sendLines(path, `${ndjson(events)}garbage\n`);
      await waitFor(() => out.stdout.split('\n').length > events.length && out.stderr.includes('garbage'), 'all lines');
      const parsed = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown);
      assert.deepEqual(parsed, events);
      assert.match(out.stderr, /not a trace event: garbage/);
    });
  });

  it('--json writes a grouped request line as the lines of the events it stands for', async () => {
    const notes = helloNotes({ rid: 't-1', uri: '/grouped' });
    await withTail(['--json'], async (path, out) => {
      await sendLines(path, grouped(notes));
      await waitFor(() => out.stdout.split('\n').length > notes.length, 'all lines');
      assert.equal(out.stdout, notes.map(noteLine).join(''));
    });
  });

  it('prints a grouped request line as its summary, and its records with -v', async () => {
    const notes = helloNotes({ rid: 't-2', uri: '/grouped', status: 404 });
    await withTail(['-v'], async (path, out) => {
      await sendLines(path, grouped(notes));
      await waitFor(() => out.stdout.includes('END_REQUEST'), 'the last record');
      assert.match(out.stdout, /WARN: GET \/grouped 404 /);
      for (const type of ['BEGIN_REQUEST', 'PARAMS', 'STDIN', 'STDOUT', 'END_REQUEST']) assert.match(out.stdout, new RegExp(`DEBUG: [→←] (in|out) +${type} +id=1`));
      assert.ok(!out.stdout.includes('"ev":"request"'), 'never the grouped line itself');
    });
  });

  it('fails with one clear line when another listener has the socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-tail-'));
    const path = join(dir, 'busy.sock');
    const other = createServer().listen(path);
    await new Promise((r) => other.once('listening', r));
    const stderr = capture();
    const code = await main(['tail', '--listen', `unix:${path}`], { stdout: capture(), stderr });
    other.close();
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 1);
    assert.match(stderr.text, /^dualcgi tail: .*in use by another listener.*pass --listen unix:\/another\.sock\n$/);
  });

  it('rejects bad flags as usage errors (exit 2)', async () => {
    for (const args of [['--listen', 'localhost:9000'], ['--socket-mode', '999'], ['--socket-group', 'no-such-group-here'], ['extra']]) {
      const stderr = capture();
      assert.equal(await main(['tail', ...args], { stdout: capture(), stderr }), 2, args.join(' '));
      assert.match(stderr.text, /^dualcgi tail: [^\n]+ \(usage: dualcgi tail --help\)\n$/, 'one line, pointing at --help');
    }
  });

  it('dashboard refuses to run without a terminal, pointing at tail', async () => {
    const stderr = capture();
    assert.equal(await main(['top', '--listen', 'unix:/tmp/never.sock'], { stdout: capture(), stderr }), 1);
    assert.match(stderr.text, /dualcgi dashboard: the dashboard needs a terminal; for pipes and logs use 'dualcgi tail'/);
  });
});
