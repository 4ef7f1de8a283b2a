import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { locateCapture, parseCapture, readCapture } from '../../src/capture/read';
import { CAPTURE_SUFFIX, CaptureFile, attachCapture, prepareCaptureDir } from '../../src/capture/writer';
import { tempDir } from '../client/fixtures';

/** echoPair: a server socket with a capture attached, and a client connected to it. */
async function echoPair(dir: string, meta = {}, options = {}): Promise<{ client: Socket; capture: () => CaptureFile | null; close(): void }> {
  let capture: CaptureFile | null = null;
  const server = createServer((socket) => {
    capture = attachCapture(socket, dir, meta, options);
    socket.on('data', (chunk: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), chunk])));
    socket.on('end', () => socket.end());
  });
  const path = join(dir, `s${Math.random().toString(16).slice(2)}.sock`);
  await new Promise<void>((r) => server.listen(path, r));
  const client = connect(path);
  await new Promise<void>((r) => client.once('connect', () => r()));
  return { client, capture: () => capture, close: () => server.close() };
}

async function roundTrip(client: Socket, data: string): Promise<void> {
  await new Promise<void>((resolve) => {
    client.once('data', () => resolve());
    client.write(data);
  });
}

describe('capture files', { timeout: 30_000 }, () => {
  it('attachCapture records both directions of any socket, in order, until it closes', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const pair = await echoPair(dir, { mode: 'test', conn: 3 });
      await roundTrip(pair.client, 'one');
      await roundTrip(pair.client, 'two');
      pair.client.end();
      await new Promise((r) => pair.client.once('close', r));
      await pair.capture()!.flushed();
      pair.close();
      const capture = readCapture(pair.capture()!.path);
      assert.equal(capture.header.meta['mode'], 'test');
      assert.equal(capture.header.meta['peer'], 'unix');
      assert.deepEqual(capture.chunks.map((c) => `${c.dir}:${c.data.toString()}`), ['in:one', 'out:echo:one', 'in:two', 'out:echo:two']);
      assert.ok(capture.chunks.every((c, i) => i === 0 || c.t >= capture.chunks[i - 1]!.t));
      assert.equal(capture.end?.['bytesIn'], 6);
      assert.equal(statSync(pair.capture()!.path).mode & 0o777, 0o600, 'captures hold secrets');
    } finally {
      cleanup();
    }
  });

  it('stays within maxFileBytes: later chunks are counted, not kept', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = new CaptureFile(dir, {}, { maxFileBytes: 600 });
      for (let i = 0; i < 20; i++) file.record('in', Buffer.alloc(100, 0x61));
      file.close();
      await file.flushed();
      const capture = readCapture(file.path);
      assert.equal(capture.truncated, true);
      assert.ok(capture.chunks.length < 5);
      assert.equal(capture.end?.['bytesIn'], 2000);
      assert.ok(statSync(file.path).size < 1000);
    } finally {
      cleanup();
    }
  });

  it('keeps at most maxFiles in the folder, removing the oldest', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const files: CaptureFile[] = [];
      for (let i = 0; i < 5; i++) {
        const f = new CaptureFile(dir, { i }, { maxFiles: 3 });
        f.close();
        await f.flushed();
        files.push(f);
      }
      const left = readdirSync(dir).sort();
      assert.deepEqual(left, files.slice(2).map((f) => `${f.id}${CAPTURE_SUFFIX}`));
    } finally {
      cleanup();
    }
  });

  it('locateCapture: a path, an id, a unique id prefix, and #N for the Nth request', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const f = new CaptureFile(dir, {});
      f.close();
      await f.flushed();
      assert.deepEqual(locateCapture(f.path, '/nonexistent'), { path: f.path });
      assert.deepEqual(locateCapture(`${f.id}#2`, dir), { path: f.path, index: 2 });
      assert.deepEqual(locateCapture(f.id.slice(0, 12), dir), { path: f.path });
      assert.throws(() => locateCapture('nope', dir), { code: 'CAPTURE_ERR_NOT_FOUND' });
      const g = new CaptureFile(dir, {});
      g.close();
      await g.flushed();
      assert.throws(() => locateCapture(f.id.slice(0, 8), dir), { code: 'CAPTURE_ERR_AMBIGUOUS' });
    } finally {
      cleanup();
    }
  });

  it('parseCapture: a file without the header is CAPTURE_ERR_FORMAT; a torn last line is counted, not fatal', () => {
    assert.throws(() => parseCapture('{"ev":"record"}\n'), { code: 'CAPTURE_ERR_FORMAT' });
    const text = `${JSON.stringify({ capture: 'dualcgi-capture', version: 1, id: 'x', start: 0, pid: 1, meta: {} })}\n` +
      `${JSON.stringify({ t: 1, dir: 'in', data: Buffer.from('ab').toString('base64') })}\n{"t":2,"dir":"in","da`;
    const capture = parseCapture(text);
    assert.equal(capture.chunks.length, 1);
    assert.equal(capture.badLines, 1);
    assert.equal(capture.end, undefined);
  });

  it('prepareCaptureDir creates the folder private; an unusable one is CAPTURE_ERR_DIR', () => {
    const { dir, cleanup } = tempDir();
    try {
      const sub = join(dir, 'a', 'b');
      prepareCaptureDir(sub);
      assert.equal(statSync(sub).mode & 0o777, 0o700);
      writeFileSync(join(dir, 'file'), '');
      assert.throws(() => prepareCaptureDir(join(dir, 'file', 'x')), { code: 'CAPTURE_ERR_DIR' });
    } finally {
      cleanup();
    }
  });
});
