#!/usr/bin/env node
import { run } from '../dist/cli/zmlocalconfig.js';
import { processIo } from '../dist/cli/shared/io.js';
process.exitCode = await run(process.argv.slice(2), processIo());
