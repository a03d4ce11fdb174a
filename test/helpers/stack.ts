/**
 * Helpers for integration tests against the stack that global setup started. Test files run one
 * after another (the integration project sets fileParallelism: false); each file starts with
 * `resetDirectory(...)`, so no file sees what another one left behind.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { Client } from 'ldapts';
import { directoryRunArgs } from '../../bench/lib/cli-args.js';
import type { LdapSourceOptions } from '../../src/sources/ldap/options.js';
import { runStackScript } from './stack-script.js';

/** Everything `scripts/stack.sh start` printed: STACK_DIR, LDAP_URL, MEMCACHED_SERVERS, … */
export function stackEnv(): Readonly<Record<string, string>> {
  return inject('stack');
}

/** One value of the stack's environment; throws when the stack did not print it. */
export function stackValue(key: string): string {
  const value = stackEnv()[key];
  if (value === undefined || value === '') throw new Error(`the test stack has no ${key}`);
  return value;
}

/** A port of the stack (`LDAP_PORT`, `NGINX_HTTP_PORT`, `DOVECOT_IMAP_PORT_1`, …). */
export function stackPort(key: string): number {
  return Number(stackValue(key));
}

/**
 * Empties the directory and loads the LDIF files offline (slapadd without schema checks, missing
 * parents created), then restarts slapd on the same URL. Takes about 0.3 s. Open LDAP
 * connections break: create clients after the reset.
 */
export async function resetDirectory(...ldifFiles: string[]): Promise<void> {
  await runStackScript(['reset', ...ldifFiles], { STACK_DIR: stackValue('STACK_DIR') }, 60_000);
}

/** Adds LDIF files to the running slapd with ldapadd (schema-checked; missing parents created). */
export async function loadLdif(...ldifFiles: string[]): Promise<void> {
  await runStackScript(['load', ...ldifFiles], { STACK_DIR: stackValue('STACK_DIR') }, 60_000);
}

/** Options of the LDAP source for the stack's slapd (bound as its rootdn). */
export function stackLdapOptions(overrides: Partial<LdapSourceOptions> = {}): LdapSourceOptions {
  return {
    urls: [stackValue('LDAP_URL')],
    bindDn: stackValue('LDAP_BIND_DN'),
    bindPassword: stackValue('LDAP_BIND_PASSWORD'),
    connectTimeoutMs: 5000,
    operationTimeoutMs: 10_000,
    ...overrides,
  };
}

/**
 * The CLI flags that point a command at the stack's slapd as its rootdn (`--source`, `--bind-dn`,
 * `--bind-password-file`); writes the password file to `<dir>/password`.
 */
export { directoryRunArgs, localConfigXml } from '../../bench/lib/cli-args.js';

/**
 * The flags of a command run against the stack's slapd from `dir`: its localconfig.xml, its
 * hosts file only, `dir` as the work directory.
 */
export function stackDirectoryArgs(dir: string): string[] {
  return directoryRunArgs({
    ldap: stackLdapArgs(dir),
    localconfig: join(dir, 'localconfig.xml'),
    hosts: join(dir, 'hosts'),
    workdir: dir,
  });
}

export function stackLdapArgs(dir: string): string[] {
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${stackValue('LDAP_BIND_PASSWORD')}\n`);
  return [
    '--source',
    stackValue('LDAP_URL'),
    '--bind-dn',
    stackValue('LDAP_BIND_DN'),
    '--bind-password-file',
    passwordFile,
  ];
}

/** Runs `use` with an ldapts client bound as the stack's rootdn, and always unbinds. */
export async function withLdapClient<T>(use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: stackValue('LDAP_URL'), timeout: 10_000, connectTimeout: 5000 });
  try {
    await client.bind(stackValue('LDAP_BIND_DN'), stackValue('LDAP_BIND_PASSWORD'));
    return await use(client);
  } finally {
    await client.unbind();
  }
}
