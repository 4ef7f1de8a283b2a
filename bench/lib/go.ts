// Builds the Go peer (bench/go/hello.go, standard library only) into the bench's temp world. No
// binary is committed; GOCACHE and GOPATH live in the world, and the module proxy is off.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../test/e2e/fixtures/world';
import { mkdirp, which } from '../../test/e2e/harness/util';

function goBuild(go: string, dir: string, out: string, cgo: boolean): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: dir,
    GOCACHE: path.join(dir, 'cache'),
    GOPATH: path.join(dir, 'gopath'),
    GOPROXY: 'off',
    GOFLAGS: '',
    GO111MODULE: 'off',
    ...(cgo ? {} : { CGO_ENABLED: '0' }),
  };
  return new Promise((resolve, reject) => {
    execFile(go, ['build', '-o', out, path.join(repoRoot(), 'bench', 'go', 'hello.go')], { env, cwd: dir }, (err, _o, stderr) => {
      if (err) reject(new Error(`go build failed: ${stderr.trim() || err.message}`));
      else resolve(out);
    });
  });
}

/**
 * buildGoPeer: `go build` bench/go/hello.go; returns the binary. Tries the default toolchain
 * settings first (prebuilt standard library: under a second), then CGO_ENABLED=0 (no C compiler).
 */
export async function buildGoPeer(world: string): Promise<string> {
  const go = which('go', 'golang-go');
  const dir = await mkdirp(path.join(world, 'go-build'));
  const out = path.join(dir, 'hello');
  try {
    return await goBuild(go, dir, out, true);
  } catch {
    return goBuild(go, dir, out, false);
  }
}
