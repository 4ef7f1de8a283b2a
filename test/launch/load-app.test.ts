import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppLoadError, isCommonJs, loadApp } from '../../src/launch/load-app';

const root = mkdtempSync(join(tmpdir(), 'dualcgi-load-app-'));
after(() => rmSync(root, { recursive: true, force: true }));

function file(rel: string, text: string): string {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

const LISTENER = 'function (req, res) { res.end("x"); }';

describe('isCommonJs', () => {
  it('follows the extension, then the nearest package.json type', () => {
    file('cjs-scope/package.json', '{"name":"a"}');
    file('esm-scope/package.json', '{"type":"module"}');
    assert.equal(isCommonJs(join(root, 'x.cjs')), true);
    assert.equal(isCommonJs(join(root, 'x.mjs')), false);
    assert.equal(isCommonJs(join(root, 'cjs-scope', 'deep', 'app.js')), true);
    assert.equal(isCommonJs(join(root, 'esm-scope', 'deep', 'app.js')), false);
    assert.equal(isCommonJs(join(root, 'esm-scope', 'app.cjs')), true);
  });
});

describe('loadApp', () => {
  it('a CommonJS listener is required, not imported (no ESM loader on a CGI hit)', async () => {
    const p = file('cjs-scope/listener.js', `module.exports = ${LISTENER};`);
    const app = await loadApp(p);
    assert.equal(app.kind, 'node');
    assert.ok(require.cache[p], 'loaded through require()');
  });

  it('a transpiled default export, a factory and a fetch app keep their meaning', async () => {
    const transpiled = file('cjs-scope/transpiled.js',
      `Object.defineProperty(exports, '__esModule', { value: true }); exports.default = ${LISTENER};`);
    assert.equal((await loadApp(transpiled)).kind, 'node');
    const factory = file('cjs-scope/factory.js', `module.exports = () => (${LISTENER});`);
    assert.equal((await loadApp(factory)).kind, 'node');
    const fetchApp = file('cjs-scope/fetch.js', 'module.exports = { fetch() { return new Response("x"); } };');
    assert.equal((await loadApp(fetchApp)).kind, 'fetch');
  });

  it('ES modules (.mjs, type module) are imported', async () => {
    const mjs = file('m.mjs', `export default ${LISTENER};`);
    assert.equal((await loadApp(mjs)).kind, 'node');
    const scoped = file('esm-scope/app.js', `export default { fetch() { return new Response("x"); } };`);
    assert.equal((await loadApp(scoped)).kind, 'fetch');
  });

  it('a module.exports of null or a load failure is an AppLoadError with its code', async () => {
    const nul = file('cjs-scope/null.js', 'module.exports = null;');
    await assert.rejects(loadApp(nul), (err: unknown) => err instanceof AppLoadError && err.code === 'APP_ERR_EXPORT');
    const broken = file('cjs-scope/broken.js', 'module.exports = ;');
    await assert.rejects(loadApp(broken), (err: unknown) => err instanceof AppLoadError && err.code === 'APP_ERR_LOAD');
    await assert.rejects(loadApp(join(root, 'missing.js')), (err: unknown) => err instanceof AppLoadError && err.code === 'APP_ERR_LOAD');
  });
});
