/** Shared by the capture tests: capture text built from chunks, as the writer would write it. */
import { CAPTURE_FORMAT } from '../../src/capture/writer';
import { type Capture, parseCapture } from '../../src/capture/read';

/** captureOf: a parsed capture of these chunks, in this order. */
export function captureOf(chunks: Array<['in' | 'out', Buffer]>, splitEvery = 0): Capture {
  const lines = [JSON.stringify({ capture: CAPTURE_FORMAT, version: 1, id: 'test', start: 0, pid: 1, meta: {} })];
  let t = 0;
  for (const [dir, data] of chunks) {
    const size = splitEvery > 0 ? splitEvery : data.length || 1;
    for (let o = 0; o < data.length; o += size) {
      lines.push(JSON.stringify({ t: t++, dir, data: data.subarray(o, o + size).toString('base64') }));
    }
  }
  return parseCapture(`${lines.join('\n')}\n`);
}
