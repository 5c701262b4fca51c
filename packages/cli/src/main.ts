#!/usr/bin/env node
/**
 * The `mikro-tenant` bin: runs the command line and exits with its code (see this package's README).
 * @module
 */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
