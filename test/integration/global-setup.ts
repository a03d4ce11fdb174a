/**
 * Starts the test stack (scripts/stack.sh: slapd, memcached, two dovecots, nginx on loopback;
 * installs the Debian packages first on a fresh machine) in a new directory, provides its
 * KEY=VALUE lines to the tests as `inject('stack')`, and stops it afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { renderOpenLdapSchema } from '../../src/sources/ldap/openldap-schema.js';
import { parseStackEnv, runStackScript } from '../helpers/stack-script.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stackDir = mkdtempSync(join(tmpdir(), 'zmproxy-stack-'));
  // The schema comes from the catalog in src/, so a stale dist/ cannot make the stack lie.
  const schemaFile = join(stackDir, 'zimbra-schema.ldif');
  writeFileSync(schemaFile, renderOpenLdapSchema());
  const env = { STACK_DIR: stackDir, STACK_SCHEMA_FILE: schemaFile };

  const stop = async (): Promise<void> => {
    await runStackScript(['stop'], env, 60_000).catch((error: unknown) => {
      console.error(`stack: stop failed: ${String(error)}`);
    });
    if (process.env['ZMPROXY_KEEP_STACK'] === undefined) {
      rmSync(stackDir, { recursive: true, force: true });
    }
  };

  try {
    // 280 s: a fresh machine installs the packages first (about 30 s, more on a slow mirror).
    const stdout = await runStackScript(['start'], env, 280_000);
    project.provide('stack', parseStackEnv(stdout));
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}
