import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino, { type Logger } from 'pino';
import { createLightLogger } from '../../src/trace/light-logger';

const BINDINGS = { ev: 'app.log', stream: 'log', rid: 'r-1', requestId: 0, mode: 'cgi' };

/** pair: a light logger and the real pino child it stands for, each writing to its own list. */
function pair(level = 'info'): { light: Logger; real: Logger; lightLines: string[]; realLines: string[]; heavyMade: () => number } {
  const lightLines: string[] = [];
  const realLines: string[] = [];
  let made = 0;
  const real = pino({ level, base: { pid: process.pid } }, { write: (s: string) => realLines.push(s) }).child(BINDINGS);
  const light = createLightLogger(BINDINGS, {
    level,
    write: (s) => lightLines.push(s),
    heavy: () => {
      made++;
      return pino({ level, base: { pid: process.pid } }, { write: (s: string) => lightLines.push(s) }).child(BINDINGS);
    },
  });
  return { light, real, lightLines, realLines, heavyMade: () => made };
}

/** same: the lines match once the timestamps are set equal. */
function same(a: string[], b: string[]): void {
  const untimed = (lines: string[]) => lines.map((l) => l.replace(/"time":\d+/, '"time":0'));
  assert.deepEqual(untimed(a), untimed(b));
}

type Call = [keyof typeof LEVEL_CALLS, ...unknown[]];
const LEVEL_CALLS = { trace: 1, debug: 1, info: 1, warn: 1, error: 1, fatal: 1 };

function run(logger: Logger, calls: Call[]): void {
  for (const [method, ...args] of calls) (logger[method] as (...a: unknown[]) => void)(...args);
}

describe('light logger (CGI req.log without loading pino)', () => {
  it('writes pino\'s exact lines for the common calls, without making a pino logger', () => {
    const p = pair();
    const calls: Call[] = [
      ['info', 'hello'], ['warn', 'careful'], ['error', 'bad'], ['fatal', 'worse'], ['info'],
      ['info', { a: 1, b: 'x"y\n', c: true, d: null, e: undefined }, 'with fields'], ['info', { only: 'fields' }],
      ['info', 'unicode é \u2028 ✓ \u0001'], ['debug', 'below the level'], ['trace', 'also below'],
    ];
    run(p.light, calls);
    run(p.real, calls);
    same(p.lightLines, p.realLines);
    assert.equal(p.heavyMade(), 0);
  });

  it('hands everything else to real pino, with the same result', () => {
    const p = pair();
    const err = new Error('boom');
    const calls: Call[] = [
      ['info', 'value %s and %d', 'x', 5], ['error', err], ['error', { err }, 'failed'], ['info', { nested: { a: [1, 2] } }, 'n'],
      ['info', { msg: 'inside' }], ['info', { time: 5 }, 't'], ['info', 'two', 'strings'], ['info', { n: NaN }],
      ['info', 'after the switch'],
    ];
    run(p.light, calls);
    run(p.real, calls);
    same(p.lightLines, p.realLines);
    assert.equal(p.heavyMade(), 1);
  });

  it('levels: the configured one, isLevelEnabled, and a level set on the logger', () => {
    const p = pair('warn');
    assert.equal(p.light.level, 'warn');
    assert.equal(p.light.isLevelEnabled('info'), false);
    assert.equal(p.light.isLevelEnabled('error'), true);
    p.light.info('dropped');
    p.light.level = 'debug';
    p.real.level = 'debug';
    p.light.debug('kept');
    p.real.debug('kept');
    same(p.lightLines, p.realLines);
    assert.equal(p.lightLines.length, 1);
  });

  it('child loggers and other pino properties are real pino\'s', () => {
    const p = pair();
    const child = p.light.child({ step: 2 });
    child.info('from the child');
    p.real.child({ step: 2 }).info('from the child');
    same(p.lightLines, p.realLines);
    assert.equal(typeof p.light.levels.values.info, 'number');
    assert.deepEqual(p.light.bindings(), p.real.bindings());
  });
});
