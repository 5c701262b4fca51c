export { runCli } from './program.js';
export type { CliIo } from './io.js';
export { CliError } from './cli-error.js';
export type { CliErrorCode } from './cli-error.js';
