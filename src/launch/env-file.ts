import { readFileSync } from 'node:fs';

/** EnvFileError: the env file cannot be read or has a bad line. code: ENV_ERR_*. */
export class EnvFileError extends Error {
  readonly code: 'ENV_ERR_READ' | 'ENV_ERR_SYNTAX';

  constructor(code: 'ENV_ERR_READ' | 'ENV_ERR_SYNTAX', message: string) {
    super(message);
    this.name = 'EnvFileError';
    this.code = code;
  }
}

/**
 * parseEnvFile: `KEY=value` lines, `#` comments, optional `export `, single or double quotes
 * (double quotes understand \n, \t, \" and \\). Written here because process.loadEnvFile needs
 * Node 20.12 and dotenv would be one more dependency for twenty lines.
 */
export function parseEnvFile(text: string, file = 'env file'): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new EnvFileError('ENV_ERR_SYNTAX', `${file}:${i + 1}: expected KEY=value`);
    out.set(m[1]!, unquote(m[2]!));
  }
  return out;
}

function unquote(raw: string): string {
  if (raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'")) return raw.slice(1, -1);
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
    return raw.slice(1, -1).replace(/\\([nt"\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  const hash = raw.search(/\s#/);
  return (hash === -1 ? raw : raw.slice(0, hash)).trim();
}

/** loadEnvFile: apply the file to process.env; variables already set win (the server's say is final). */
export function loadEnvFile(path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EnvFileError('ENV_ERR_READ', `cannot read env file ${path}: ${(err as Error).message}`);
  }
  for (const [key, value] of parseEnvFile(text, path)) {
    if (process.env[key] === undefined) process.env[key] = value;
  }
}
