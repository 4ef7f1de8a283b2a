/** Deployments for the init and doctor tests: a good one from `init`, then broken on purpose. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlan, writeDeployment } from '../../src/deploy/init';
import type { ServerKind } from '../../src/deploy/templates';

export const GOOD_APP = `'use strict';
module.exports = (req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end('hello ' + req.url);
};
`;

/** Deployment: a folder written by init, readable by www-data (mkdtemp makes it 0700). */
export interface Deployment {
  dir: string;
  script: string;
  cleanup(): void;
}

export function deployment(server: ServerKind = 'apache-fcgid', app = GOOD_APP): Deployment {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-deploy-test-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'app.js'), app);
  chmodSync(join(dir, 'app.js'), 0o644);
  const plan = createPlan({ server, dir });
  writeDeployment(plan, false);
  const script = join(dir, server === 'apache-cgi' ? 'dispatch.cgi' : 'dispatch.fcgi');
  return { dir, script, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
