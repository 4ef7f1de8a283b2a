// The commands the CGI suite times, the CGI environment they run in, and the one-hit check each
// must pass first. Generated entry scripts go into the world with an absolute node in the shebang.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { buildCgiParams } from '../../src/client/params';
import { repoRoot } from '../../test/e2e/fixtures/world';
import { mkdirp, writeFile } from '../../test/e2e/harness/util';
import { BENCH_DIST, benchApp } from '../lib/backends';

/** CgiCommand: one command line, without a shell. */
export interface CgiCommand {
  name: string;
  argv: string[];
  /** expect: a correct CGI reply (undefined for `node -e 0`, which prints nothing). */
  expect?: RegExp;
}

/** cgiEnv: what Apache's mod_cgi gives a script for `GET /hello?x=1` (plus PATH). */
export function cgiEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  const params = buildCgiParams({
    target: '/hello?x=1', mode: 'cgi',
    headers: [['Host', 'localhost'], ['User-Agent', 'bench'], ['Accept', '*/*']],
  });
  for (const [k, v] of params) env[k] = v;
  return env;
}

/** entryScript: a dispatch.cgi for `app`, as `dualcgi init` would write it (absolute paths). */
export async function entryScript(file: string, app: string, node = process.execPath): Promise<string> {
  const src = [
    `#!${node}`,
    `require(${JSON.stringify(path.join(repoRoot(), 'dist', 'src'))}).dispatch({ app: ${JSON.stringify(app)} });`,
    '',
  ].join('\n');
  return writeFile(file, src, 0o755);
}

/** cgiCommands: node -e 0, the plain scripts and the dualcgi entry scripts. */
export async function cgiCommands(world: string): Promise<CgiCommand[]> {
  const dir = await mkdirp(path.join(world, 'cgi'));
  const expressCgi = await entryScript(path.join(dir, 'express.cgi'), benchApp('express-app'));
  const node = process.execPath;
  return [
    { name: 'node -e 0', argv: [node, '-e', '0'] },
    { name: 'plain node CGI', argv: [node, path.join(BENCH_DIST, 'apps', 'cgi-plain.js')], expect: /^Status: 200/ },
    { name: 'dispatch.cgi (examples/hello)', argv: [path.join(repoRoot(), 'examples', 'hello', 'dispatch.cgi')], expect: /"hello": "world"/ },
    { name: 'plain node CGI + express', argv: [node, path.join(BENCH_DIST, 'apps', 'cgi-express.js')], expect: /^Status: 200/ },
    { name: 'dispatch.cgi (express app)', argv: [expressCgi], expect: /Hello, World!/ },
  ];
}

/** checkCommand: one hit; undefined when it exits 0 with a correct reply, else why not. */
export function checkCommand(c: CgiCommand, env: NodeJS.ProcessEnv): string | undefined {
  const r = spawnSync(c.argv[0]!, c.argv.slice(1), { env, input: '', encoding: 'latin1', timeout: 20_000 });
  if (r.error) return r.error.message;
  if (r.status !== 0) return `exit ${r.status}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`;
  if (c.expect && !c.expect.test(r.stdout)) return `unexpected output: ${JSON.stringify(r.stdout.slice(0, 200))}`;
  return undefined;
}
