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

/**
 * entryScript: a dispatch.cgi for `app`, as `dualcgi init` would write it (absolute paths). `env`:
 * variables set first (DUALCGI_BUNDLE=off, DUALCGI_COMPILE_CACHE=off: the rows without the tricks).
 */
export async function entryScript(file: string, app: string, node = process.execPath, env: Record<string, string> = {}): Promise<string> {
  const src = [
    `#!${node}`,
    ...Object.entries(env).map(([k, v]) => `process.env[${JSON.stringify(k)}] = ${JSON.stringify(v)};`),
    `require(${JSON.stringify(path.join(repoRoot(), 'dist', 'src'))}).dispatch({ app: ${JSON.stringify(app)} });`,
    '',
  ].join('\n');
  return writeFile(file, src, 0o755);
}

/** Names of the rows the suite's targets compare. */
export const CGI_ROWS = {
  nodeE0: 'node -e 0',
  plain: 'plain node CGI',
  plainHelloWork: 'plain node CGI, hello example work',
  hello: 'dispatch.cgi (examples/hello)',
  plainApp: 'dispatch.cgi (plain app)',
  plainAppNoTricks: 'dispatch.cgi (plain app), no bundle/cache',
  plainExpress: 'plain node CGI + express',
  express: 'dispatch.cgi (express app)',
  expressNoCache: 'dispatch.cgi (express app), no compile cache',
} as const;

/**
 * cgiCommands: node -e 0, the plain scripts and the dualcgi entry scripts. Pairs with the same app
 * work: plain node CGI / dispatch.cgi (plain app) (bench/apps/hello.ts: the same bytes); plain
 * node CGI, hello example work / dispatch.cgi (examples/hello); plain node CGI + express /
 * dispatch.cgi (express app). The "no ..." rows show what the CGI bundle and the compile cache buy.
 */
export async function cgiCommands(world: string): Promise<CgiCommand[]> {
  const dir = await mkdirp(path.join(world, 'cgi'));
  const off = { DUALCGI_BUNDLE: 'off', DUALCGI_COMPILE_CACHE: 'off' };
  const expressCgi = await entryScript(path.join(dir, 'express.cgi'), benchApp('express-app'));
  const expressNoCache = await entryScript(path.join(dir, 'express-nocache.cgi'), benchApp('express-app'), process.execPath,
    { DUALCGI_COMPILE_CACHE: 'off' });
  const plainApp = await entryScript(path.join(dir, 'plain-app.cgi'), benchApp('hello'));
  const plainAppOff = await entryScript(path.join(dir, 'plain-app-off.cgi'), benchApp('hello'), process.execPath, off);
  const node = process.execPath;
  const R = CGI_ROWS;
  return [
    { name: R.nodeE0, argv: [node, '-e', '0'] },
    { name: R.plain, argv: [node, path.join(BENCH_DIST, 'apps', 'cgi-plain.js')], expect: /^Status: 200/ },
    { name: R.plainApp, argv: [plainApp], expect: /Hello, World!/ },
    { name: R.plainAppNoTricks, argv: [plainAppOff], expect: /Hello, World!/ },
    { name: R.plainHelloWork, argv: [node, path.join(BENCH_DIST, 'apps', 'cgi-plain-hello.js')], expect: /"hello": "world"/ },
    { name: R.hello, argv: [path.join(repoRoot(), 'examples', 'hello', 'dispatch.cgi')], expect: /"hello": "world"/ },
    { name: R.plainExpress, argv: [node, path.join(BENCH_DIST, 'apps', 'cgi-express.js')], expect: /^Status: 200/ },
    { name: R.express, argv: [expressCgi], expect: /Hello, World!/ },
    { name: R.expressNoCache, argv: [expressNoCache], expect: /Hello, World!/ },
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
