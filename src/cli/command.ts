/** CommandIo: where a command writes; tests pass their own. */
export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Command: one CLI command. `run` gets the arguments after the command name and returns the exit
 * code (0 ok, 1 failure). It throws UsageError for bad arguments and CliError for known failures;
 * the single error boundary in cli/main.ts turns those into one line and an exit code.
 */
export interface Command {
  summary: string;
  usage: string;
  run(argv: string[], io: CommandIo): Promise<number>;
}
