import { createInterface } from 'node:readline/promises';

/** Where a command writes and how it asks: the process's streams, or a test's buffers. */
export interface CliIo {
  /** Writes to standard output (results, JSON). */
  out(text: string): void;
  /** Writes to standard error (progress, errors). */
  err(text: string): void;
  /** Whether standard error is a terminal (progress bar) and standard input can answer questions. */
  readonly interactive: boolean;
  /** Asks a yes/no question; only called when `interactive`. */
  confirm(question: string): Promise<boolean>;
}

/** The process's own streams. */
export const processIo: CliIo = {
  out: text => process.stdout.write(text),
  err: text => process.stderr.write(text),
  interactive: Boolean(process.stderr.isTTY && process.stdin.isTTY),
  async confirm(question) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  },
};

/** An error the CLI reports as one line, `mikro-tenant: <message> (<code>)`, with a non-zero exit. */
export class CliError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** Prints an error as one line and returns the exit code to use. */
export function reportError(io: CliIo, error: unknown): number {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  io.err(`mikro-tenant: ${message}${typeof code === 'string' ? ` (${code})` : ''}\n`);
  return typeof (error as { exitCode?: unknown }).exitCode === 'number' ? (error as { exitCode: number }).exitCode : 1;
}
