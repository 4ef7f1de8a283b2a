// dashboard-replay: the dashboard's own cost per request, offline and steady: a captured trace
// stream (`TRACE_PROBE_CAPTURE=FILE node dist/bench/trace-probe.js drain`) fed through the
// dashboard's reader (NdjsonReader with summaries) into its store, in 64 KiB chunks as a socket
// gives them, with a draw's reads of the store (the list's rows, the header) every DRAW_EVERY
// requests: what 5 frames/s does at ~30k req/s. Prints CPU µs per request and the time in GC.
//
//   node dist/bench/dashboard-replay.js FILE [ROUNDS] [DRAW_EVERY] [reader|app]
// `reader`: the reader alone (its items dropped), to tell its cost from the store's.
// `app`: each draw is the real one (DashboardApp, blessed) on a 160x48 terminal that discards
// its output (the bytes it would have written are printed as outKB): what a live draw costs.
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { PassThrough, Writable } from 'node:stream';
import { DashboardApp } from '../src/dashboard/app';
import { DashboardStore } from '../src/dashboard/store/dashboard-store';
import { ListModel } from '../src/dashboard/store/list';
import { renderHeader } from '../src/dashboard/views/header';
import { renderList } from '../src/dashboard/views/request-list';
import type { GroupItem } from '../src/trace/group-scan';
import { NdjsonReader, type ReadItem } from '../src/trace/reader';

const CHUNK = 64 * 1024;

async function main(): Promise<void> {
  const [file, roundsArg = '5', drawEveryArg = '6000', only = ''] = process.argv.slice(2);
  const readerOnly = only === 'reader';
  const withApp = only === 'app';
  let outBytes = 0;
  if (file === undefined) throw new Error('usage: dashboard-replay FILE [ROUNDS] [DRAW_EVERY]');
  const data = readFileSync(file);
  const drawEvery = Number(drawEveryArg);
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  }).observe({ entryTypes: ['gc'] });
  for (let round = 1; round <= Number(roundsArg); round++) {
    const store = new DashboardStore();
    const model = new ListModel(store);
    let requests = 0;
    let sinceDraw = 0;
    let now = 1_800_000_000_000;
    let app: DashboardApp | undefined;
    if (withApp) {
      const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
      const output = Object.assign(new Writable({ write: (c: Buffer, _e, cb) => { outBytes += c.length; cb(); } }), { isTTY: true, columns: 160, rows: 48 });
      app = new DashboardApp(store, { input, output, terminal: 'xterm-256color', listen: '/tmp/x.sock', showSecrets: false, onQuit: () => {} });
    }
    const draw = (): void => {
      if (app !== undefined) {
        app.changed();
        app.scheduler.flush();
        return;
      }
      renderHeader(store, { listen: '/tmp/x.sock', width: 160, now });
      renderList(model, 160, 20, true);
    };
    const reader = new NdjsonReader<ReadItem | GroupItem>((item) => {
      if (item.kind === 'group') {
        requests++;
        if (++sinceDraw >= drawEvery) {
          sinceDraw = 0;
          now += 200;
          draw();
        }
      }
      if (!readerOnly) store.ingest(item, now);
    }, { summaries: true });
    const gcBefore = gcMs;
    const outBefore = outBytes;
    const cpu = process.cpuUsage();
    for (let at = 0; at < data.length; at += CHUNK) {
      // A fresh buffer per read, as a socket's are.
      reader.push(Buffer.from(data.subarray(at, Math.min(data.length, at + CHUNK))));
    }
    draw();
    const used = process.cpuUsage(cpu);
    await new Promise((r) => setTimeout(r, 50)); // the GC entries are delivered on the event loop
    const us = (used.user + used.system) / requests;
    process.stdout.write(`${JSON.stringify({ round, requests, us: +us.toFixed(2), gcUs: +(((gcMs - gcBefore) * 1000) / requests).toFixed(2),
      kept: store.requests.size, dropped: store.dropped(), outKB: Math.round((outBytes - outBefore) / 1024) })}\n`);
    app?.destroy();
  }
}

void main();
