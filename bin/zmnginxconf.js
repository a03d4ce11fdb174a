#!/usr/bin/env node
import { run } from '../dist/cli/zmproxyconf.js';
import { processIo } from '../dist/cli/shared/io.js';
process.exitCode = await run(process.argv.slice(2), processIo(), 'zmnginxconf');
