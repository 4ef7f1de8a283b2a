import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { type DeployPlan, RESTART_FILE, appName, defaultBind, dispatchScript, htaccess, scriptName, type ServerKind } from './templates';

/** packageRoot: the dualcgi package folder this code runs from (what the entry script requires). */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'dualcgi') return dir;
    } catch {
      // keep looking upwards
    }
    if (dirname(dir) === dir) throw new Error(`no dualcgi package.json above ${from}`);
  }
}

/** PlanInput: init's options before normalising. */
export interface PlanInput {
  server: ServerKind;
  dir: string;
  app?: string;
  bind?: string;
  user?: string;
  node?: string;
  cwd?: string;
}

/**
 * createPlan: absolute paths for everything. The app is written relative (`./app.js`) when it
 * lives under DIR, so the folder can move; the default is DIR/app.js.
 */
export function createPlan(input: PlanInput): DeployPlan {
  const cwd = input.cwd ?? process.cwd();
  const dir = resolve(cwd, input.dir);
  const appPath = input.app ? resolve(cwd, input.app) : join(dir, 'app.js');
  const rel = relative(dir, appPath);
  const app = !rel.startsWith('..') && !isAbsolute(rel) ? `./${rel}` : appPath;
  const plan: DeployPlan = {
    server: input.server, dir, app, appPath,
    node: input.node ?? process.execPath,
    dualcgi: packageRoot(),
    bind: '',
    user: input.user ?? 'www-data',
  };
  plan.bind = input.bind ?? defaultBind(input.server, appName(plan));
  return plan;
}

/** FileOutcome: what init did with one file. */
export interface FileOutcome {
  path: string;
  action: 'created' | 'unchanged' | 'overwritten' | 'kept' | 'mode fixed';
  note?: string;
}

/** FileSpec: one file init owns. */
interface FileSpec {
  path: string;
  content: string;
  mode: number;
}

/** plannedFiles: the entry script, and the .htaccess for Apache. */
export function plannedFiles(plan: DeployPlan): FileSpec[] {
  const files: FileSpec[] = [{ path: join(plan.dir, scriptName(plan.server)), content: dispatchScript(plan), mode: 0o755 }];
  if (plan.server === 'apache-fcgid' || plan.server === 'apache-cgi') {
    files.push({ path: join(plan.dir, '.htaccess'), content: htaccess(plan), mode: 0o644 });
  }
  return files;
}

/**
 * writeOne: idempotent. Same content: unchanged (the mode is repaired if it is off). Other content:
 * kept, unless `force` — a file someone edited is never replaced silently.
 */
function writeOne(spec: FileSpec, force: boolean): FileOutcome {
  if (!existsSync(spec.path)) {
    writeFileSync(spec.path, spec.content, { mode: spec.mode });
    chmodSync(spec.path, spec.mode); // the umask must not take the x bits away
    return { path: spec.path, action: 'created' };
  }
  const same = readFileSync(spec.path, 'utf8') === spec.content;
  if (!same && !force) {
    return { path: spec.path, action: 'kept', note: 'differs from what init writes (--force overwrites it)' };
  }
  if (!same) {
    writeFileSync(spec.path, spec.content);
    chmodSync(spec.path, spec.mode);
    return { path: spec.path, action: 'overwritten' };
  }
  if ((statSync(spec.path).mode & 0o777) !== spec.mode) {
    chmodSync(spec.path, spec.mode);
    return { path: spec.path, action: 'mode fixed', note: `now ${spec.mode.toString(8)}` };
  }
  return { path: spec.path, action: 'unchanged' };
}

/** writeDeployment: DIR, its tmp/ (for the restart file), the entry script and the .htaccess. */
export function writeDeployment(plan: DeployPlan, force: boolean): FileOutcome[] {
  mkdirSync(plan.dir, { recursive: true });
  const outcomes = plannedFiles(plan).map((spec) => writeOne(spec, force));
  const tmp = join(plan.dir, dirname(RESTART_FILE));
  if (!existsSync(tmp)) {
    mkdirSync(tmp, { mode: 0o755 });
    outcomes.push({ path: `${tmp}/`, action: 'created', note: `touch ${RESTART_FILE} to reload` });
  }
  return outcomes;
}
