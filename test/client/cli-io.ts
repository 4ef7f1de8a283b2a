/** Shared by the CLI tests of request, ping, tap, replay and lint: run a command in-process, keep its output. */
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main';

/** Captured: what a command wrote, as bytes. */
export class Captured extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get text(): string {
    return this.bytes.toString();
  }
}

/** CliRun: exit code and output of one command. */
export interface CliRun {
  code: number;
  stdout: Captured;
  stderr: Captured;
}

/** runCli: `dualcgi ...argv` in this process. */
export async function runCli(...argv: string[]): Promise<CliRun> {
  const stdout = new Captured();
  const stderr = new Captured();
  const code = await main(argv, { stdout, stderr });
  return { code, stdout, stderr };
}

/** runText: `dualcgi ...argv` in this process, its exit code and output as text. */
export async function runText(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(...argv);
  return { code: r.code, out: r.stdout.text, err: r.stderr.text };
}

/** waitUntil: poll `predicate` every 10 ms; fail after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
