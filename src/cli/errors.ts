/** UsageError: bad flags or arguments; the CLI prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  readonly code = 'CLI_ERR_USAGE';

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** CliError: the command ran and failed; one clear line (with the fix when known), exit 1. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
  }
}
