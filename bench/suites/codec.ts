// Codec suite: src/protocol (RecordDecoder + ParamsStream, the encoders) against fastcgi-stream
// 1.0.0 on the same bytes. Each sample is one variant in a fresh node process (suites/codec-worker),
// variants interleaved over the rounds.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ParamsStream, RecordDecoder, RecordType, encodePairs } from '../../src/protocol';
import { trackChild } from '../lib/cleanup';
import { encodeSplitPairRequest, encodeTypicalRequest, typicalParams } from '../lib/codec-fixtures';
import type { Suite, SuiteContext } from '../lib/context';
import { emptyResult } from '../lib/context';
import { createGroup, ratioTarget, seriesOf, type Group } from '../lib/results';
import { createPeerEndpoint } from './codec-peer';

const OURS = 'dualcgi';
const PEER = 'fastcgi-stream';

/** GROUPS: each group's title and its variants as [label, worker variant]. */
const GROUPS: Array<{ id: string; title: string; variants: Array<[string, string]> }> = [
  { id: 'decode-64k', title: 'decode typical requests (1.1 KB params), fed in 64 KiB chunks',
    variants: [[OURS, 'decode-64k-ours'], [PEER, 'decode-64k-peer']] },
  { id: 'decode-request', title: 'decode typical requests, one chunk per request',
    variants: [[OURS, 'decode-request-ours'], [PEER, 'decode-request-peer']] },
  { id: 'encode-small', title: 'encode a hello response (STDOUT, empty STDOUT, END_REQUEST)',
    variants: [[OURS, 'encode-small-ours'], [PEER, 'encode-small-peer']] },
  { id: 'encode-64k', title: 'encode a 64 KiB response as STDOUT records',
    variants: [[`${OURS} (headers, content as views)`, 'encode-64k-ours'], [`${OURS} (encodeStream, copies)`, 'encode-64k-ours-copy'],
      [PEER, 'encode-64k-peer']] },
];

function runWorker(variant: string, seconds: number): Promise<number> {
  const worker = path.join(__dirname, 'codec-worker.js');
  const child = spawn(process.execPath, [worker, variant, String(seconds), String(seconds / 4)], { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(`codec ${variant}`, child);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`codec worker ${variant} exited ${code}: ${err.trim()}`));
      else resolve((JSON.parse(out.trim()) as { ops: number }).ops);
    });
  });
}

/** pairsCheck: what each decoder makes of `bytes` (one request), against the pairs that were encoded. */
function pairsCheck(bytes: Buffer): { ours: string; theirs: string } {
  const expected = JSON.stringify(typicalParams());
  let ours = 'no PARAMS end';
  let params = new ParamsStream(1 << 20);
  const decoder = new RecordDecoder((r) => {
    if (r.type === RecordType.BeginRequest) params = new ParamsStream(1 << 20);
    if (r.type !== RecordType.Params) return;
    if (r.contentLength > 0) params.append(r.content);
    else ours = JSON.stringify(params.decode()) === expected ? 'correct' : 'WRONG';
  });
  decoder.push(bytes);
  let theirs: string;
  try {
    const got: Array<[string, string]> = [];
    const peer = createPeerEndpoint((_id, r) => {
      if (r.TYPE === RecordType.Params) for (const p of r.params ?? []) got.push(typeof p === 'string' ? [p, ''] : p);
    });
    peer.feed(bytes);
    theirs = JSON.stringify(got) === expected ? 'correct' : 'corrupted pairs';
  } catch (err) {
    theirs = `threw ${(err as Error).message}`;
  }
  return { ours, theirs };
}

/** sameOutputCheck: both decoders end with the same pairs on the benchmarked request (a fair race). */
function sameOutputCheck(): string {
  const { ours, theirs } = pairsCheck(encodeTypicalRequest(1));
  return `the benchmarked request decodes to the encoded pairs: ${OURS} ${ours}, ${PEER} ${theirs}`;
}

/** splitPairCheck: what each decoder makes of a pair split across two PARAMS records. */
function splitPairCheck(): string {
  const { ours, theirs } = pairsCheck(encodeSplitPairRequest(1));
  return `a name-value pair split across two PARAMS records (spec 3.4): ${OURS} ${ours}, ${PEER} ${theirs}`;
}

async function run(ctx: SuiteContext) {
  const { rounds, codecSeconds } = ctx.options;
  const result = emptyResult('codec');
  const groups = new Map<string, Group>();
  for (const g of GROUPS) {
    const group = createGroup('codec', g.id, g.title, 'ops/s', true, g.variants.map(([l]) => l), [PEER]);
    groups.set(g.id, group);
    result.groups.push(group);
  }
  for (let r = 1; r <= rounds; r++) {
    for (const g of GROUPS) {
      for (const [label, variant] of g.variants) {
        const ops = await runWorker(variant, codecSeconds);
        seriesOf(groups.get(g.id)!, label).samples.push(ops);
        ctx.log(`codec round ${r}/${rounds} ${variant}: ${Math.round(ops).toLocaleString('en-US')} ops/s`);
      }
    }
  }
  result.targets.push(
    ratioTarget(groups.get('decode-64k')!, OURS, PEER, 5, 'codec decode, 64 KiB chunks: >= 5x fastcgi-stream'),
    ratioTarget(groups.get('decode-request')!, OURS, PEER, 5, 'codec decode, one chunk per request: >= 5x fastcgi-stream'),
  );
  result.notes.push(`typical request: ${encodePairs(typicalParams()).length} bytes of params in ${typicalParams().length} pairs, ` +
    'BEGIN_REQUEST + one PARAMS record + empty PARAMS + empty STDIN; ops/s = requests decoded or responses encoded per second');
  result.notes.push(sameOutputCheck());
  result.notes.push(splitPairCheck());
  return result;
}

/** codecSuite: see the file comment. */
export const codecSuite: Suite = { name: 'codec', run };
