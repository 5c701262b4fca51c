import { createInterface } from 'node:readline/promises';

/**
 * Where a command writes and how it asks: the process's streams ({@link processIo}), or a test's buffers.
 *
 * @example
 * const io: CliIo = { out: t => (stdout += t), err: t => (stderr += t), interactive: false, confirm: async () => false };
 * const exitCode = await runCli(['list', '--json'], io, dir);
 */
export interface CliIo {
  /** Writes to standard output (results, JSON). */
  out(text: string): void;
  /** Writes to standard error (progress lines, errors). */
  err(text: string): void;
  /** Whether a person can answer questions (standard input and standard error are terminals). */
  readonly interactive: boolean;
  /** Draw a progress bar on `process.stderr` instead of one line per tenant. @default false */
  readonly progressBar?: boolean;
  /** Asks a yes/no question; only called when {@link interactive}. */
  confirm(question: string): Promise<boolean>;
}

/** The process's own streams: a progress bar when stderr is a terminal, questions when stdin is one too. */
export const processIo: CliIo = {
  out: text => { process.stdout.write(text); },
  err: text => { process.stderr.write(text); },
  interactive: Boolean(process.stderr.isTTY && process.stdin.isTTY),
  progressBar: Boolean(process.stderr.isTTY),
  async confirm(question) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  },
};
