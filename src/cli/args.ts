import { UsageError } from './errors';

/** FlagSpec: one flag of a command. `repeat` collects every occurrence into an array. */
export interface FlagSpec {
  short?: string;
  type: 'boolean' | 'string';
  repeat?: boolean;
}

/** ParsedArgs: flags by long name, and the positionals in order. */
export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * parseArgs: a strict parser (unknown flags are usage errors). `--name value`, `--name=value`,
 * `-X value`, `--` ends flags. Written by hand because node:util parseArgs has no repeated-flag
 * collection into arrays with short aliases of our shape and gives vaguer errors.
 */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort.set(spec.short, name);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
      if (!(name in specs)) throw new UsageError(`unknown flag --${name}`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      name = byShort.get(arg.slice(1));
      if (name === undefined) throw new UsageError(`unknown flag ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name]!;
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      value = true;
    } else if (inline !== undefined) {
      value = inline;
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i]!;
    }
    if (spec.repeat) {
      const list = (flags[name] as string[] | undefined) ?? [];
      list.push(String(value));
      flags[name] = list;
    } else {
      flags[name] = value;
    }
  }
  return { flags, positionals };
}

/** stringFlag: a string flag or undefined. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** listFlag: a repeated flag's values (empty when absent). */
export function listFlag(args: ParsedArgs, name: string): string[] {
  const v = args.flags[name];
  return Array.isArray(v) ? v : [];
}

/** nameValues: a repeated NAME=VALUE flag (`--param HTTPS=on`); an empty NAME or no `=` is a usage error. */
export function nameValues(args: ParsedArgs, name: string): Array<[string, string]> {
  return listFlag(args, name).map((raw) => {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${name} expects NAME=VALUE, got ${JSON.stringify(raw)}`);
    return [raw.slice(0, eq), raw.slice(eq + 1)];
  });
}

/**
 * secondsMs: a --NAME SECONDS flag (digits, an optional fraction) in milliseconds, rounded up;
 * `fallback` when absent. 0 only where `zeroMeans` says what it means ("none"). Number() alone
 * read 0x10, 1e1 and an empty value as numbers.
 */
export function secondsMs(args: ParsedArgs, name: string, fallback: string, zeroMeans?: string): number {
  const value = stringFlag(args, name) ?? fallback;
  if (!/^\d+(\.\d+)?$/.test(value) || (zeroMeans === undefined && Number(value) === 0)) {
    throw new UsageError(`--${name} expects seconds${zeroMeans === undefined ? ' above 0' : ` (0: ${zeroMeans})`}, got ${JSON.stringify(value)}`);
  }
  return Math.ceil(Number(value) * 1000);
}
