import type { CliIo } from './io.js';

/** Codes of the errors only the CLI raises (the library's own, also those of backups, are `TenantError` codes). */
export type CliErrorCode =
  | 'ERR_USAGE'
  | 'ERR_CONFIG_NOT_FOUND'
  | 'ERR_CONFIG_UNREADABLE'
  | 'ERR_CONFIG_NEEDS_TSX'
  | 'ERR_TENANT_NOT_FOUND'
  | 'ERR_TENANT_EXISTS'
  | 'ERR_CONFIRMATION_REQUIRED'
  | 'ERR_EXEC_FAILED'
  | 'ERR_WORKER_FAILED';

/** Exit code of usage errors (unknown option, missing argument), as most command-line tools do. */
export const EXIT_USAGE = 2;

/**
 * An error the CLI reports as one line, `mikro-tenant: <message> (<code>)`, with a non-zero exit.
 * Made through the static factories, whose messages say what to do.
 */
export class CliError extends Error {
  /** Machine-readable code, e.g. `ERR_CONFIG_NOT_FOUND`. */
  readonly code: CliErrorCode;
  /** Exit code of the process. @default 1 */
  readonly exitCode: number;

  /** Prefer the static factories. */
  constructor(code: CliErrorCode, message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }

  /** Bad command-line usage (exit code 2). */
  static usage(message: string): CliError {
    return new CliError('ERR_USAGE', message, { exitCode: EXIT_USAGE });
  }

  /** No config file where one was looked for. */
  static configNotFound(where: string): CliError {
    return new CliError('ERR_CONFIG_NOT_FOUND', `${where}; pass --config PATH or add mikro-tenant.config.js to the working directory`);
  }

  /** The config file could not be imported, or does not export the options of a tenancy's `init`. */
  static configUnreadable(path: string, reason: string, cause?: unknown): CliError {
    return new CliError('ERR_CONFIG_UNREADABLE', `cannot use config ${path}: ${reason}`, { cause });
  }

  /** A TypeScript config was given while no TypeScript loader is active. */
  static configNeedsTsx(path: string, cause?: unknown): CliError {
    return new CliError('ERR_CONFIG_NEEDS_TSX',
      `cannot load ${path}: TypeScript configs need tsx; run with NODE_OPTIONS="--import tsx" (or use a .js/.mjs config)`, { cause });
  }

  /** The tenant has no storage (and the CLI never creates one implicitly). */
  static tenantNotFound(tenantId: string): CliError {
    return new CliError('ERR_TENANT_NOT_FOUND', `tenant "${tenantId}" does not exist`);
  }

  /** The tenant exists and the command would replace it. */
  static tenantExists(tenantId: string, hint = 'pass --force to replace its data'): CliError {
    return new CliError('ERR_TENANT_EXISTS', `tenant "${tenantId}" exists; ${hint}`);
  }



  /** A destructive command without a terminal to confirm on and without `--yes`. */
  static confirmationRequired(what: string): CliError {
    return new CliError('ERR_CONFIRMATION_REQUIRED', `${what}; no terminal to confirm on: pass --yes`);
  }



  /** The command of `exec` could not be started. */
  static execFailed(command: string, cause: unknown): CliError {
    return new CliError('ERR_EXEC_FAILED', `cannot start ${command}: ${messageOf(cause)}`, { cause });
  }

  /** A migration worker process could not start (it migrated nothing). */
  static workerFailed(cause: unknown): CliError {
    return new CliError('ERR_WORKER_FAILED', `a migration worker could not start: ${messageOf(cause)}`, { cause });
  }
}

/**
 * Prints an error as one line, `mikro-tenant: <message> (<code>)`, and returns the exit code to use.
 * With `MIKRO_TENANT_DEBUG=1` the stack follows on the next lines.
 */
export function reportError(io: CliIo, error: unknown): number {
  const raw = (error as { code?: unknown } | undefined)?.code;
  const code = typeof raw === 'string' && raw ? raw : 'ERR_UNEXPECTED';
  io.err(`mikro-tenant: ${oneLine(messageOf(error))} (${code})\n`);
  if (process.env.MIKRO_TENANT_DEBUG && error instanceof Error && error.stack) {
    io.err(`${error.stack}\n`);
  }
  const exitCode = (error as { exitCode?: unknown } | undefined)?.exitCode;
  return typeof exitCode === 'number' && exitCode > 0 ? exitCode : 1;
}

/** An error's message on one line (SQL errors and MikroORM messages can span several). */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The message of an error, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
