// `dualcgi doctor` as a command: what it says when there is nothing to check, and usage errors.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';

function capture(): { io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }; text(): string } {
  let text = '';
  const w = { write: (s: string) => { text += s; return true; } } as NodeJS.WritableStream;
  return { io: { stdout: w, stderr: w }, text: () => text };
}

describe('dualcgi doctor (command)', () => {
  it('a folder without an entry script: exit 1, the fix is init', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-doctor-cli-'));
    try {
      const c = capture();
      assert.equal(await main(['doctor', dir], c.io), 1);
      assert.match(c.text(), new RegExp(`no dispatch.fcgi or dispatch.cgi at ${dir}; fix: dualcgi init ${dir}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the app file instead of its entry script: one line saying so, exit 1 (was five .htaccess problems about app.js)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-doctor-cli-'));
    try {
      writeFileSync(join(dir, 'app.js'), 'module.exports = (req, res) => res.end();\n');
      const c = capture();
      assert.equal(await main(['doctor', join(dir, 'app.js')], c.io), 1);
      assert.equal(c.text(), `dualcgi doctor: ${join(dir, 'app.js')} is not an entry script (*.fcgi or *.cgi); give its folder or its dispatch.fcgi\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('usage errors exit 2', async () => {
    const c = capture();
    assert.equal(await main(['doctor', '--server', 'iis', '.'], c.io), 2);
    assert.equal(await main(['doctor', '--path', 'nope', '.'], c.io), 2);
  });
});
