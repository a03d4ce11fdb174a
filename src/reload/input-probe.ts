/**
 * The cheap fingerprint `--watch` polls: mtimes and sizes of the LDIF files, localconfig, hosts
 * file and templates, and for LDAP the naming contexts' contextCSN (one base read each), or,
 * when the server keeps none (no syncprov), the count and newest entryCSN/modifyTimestamp of
 * the global config, server and domain entries (only those two attributes are read).
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { ProxyConfError } from '../errors.js';
import type { LdapSourceOptions } from '../sources/ldap/options.js';

/** Options of {@link createInputFingerprint}. */
export interface InputFingerprintOptions {
  /** Files whose mtime and size count (LDIF files, localconfig, hosts file). */
  files: readonly string[];
  /** Directories whose files' mtimes and sizes count (templates). */
  dirs: readonly string[];
  /** The LDAP directory, when the source is LDAP. */
  ldap?: LdapSourceOptions | undefined;
}

/** Creates the fingerprint function; it throws E_LDAP_CONNECT when LDAP cannot be asked. */
export function createInputFingerprint(options: InputFingerprintOptions): () => Promise<string> {
  return async () => {
    const hash = createHash('sha256');
    for (const file of options.files) hash.update(`${file}\0${await statLine(file)}\n`);
    for (const dir of options.dirs) {
      let names: string[] = [];
      try {
        names = (await readdir(dir)).sort();
      } catch {
        hash.update(`${dir}\0missing\n`);
      }
      for (const name of names) hash.update(`${name}\0${await statLine(join(dir, name))}\n`);
    }
    if (options.ldap !== undefined) hash.update(await ldapFingerprint(options.ldap));
    return hash.digest('hex').slice(0, 16);
  };
}

async function statLine(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

const ENTRIES =
  '(|(objectClass=zimbraGlobalConfig)(objectClass=zimbraServer)(objectClass=zimbraDomain))';

async function ldapFingerprint(options: LdapSourceOptions): Promise<string> {
  let lastError: unknown;
  for (const url of options.urls) {
    const tlsOptions =
      /^ldaps:/i.test(url) && options.caFile !== undefined
        ? {
            ca: await readFile(options.caFile),
            rejectUnauthorized: options.verifyCertificate ?? true,
          }
        : /^ldaps:/i.test(url)
          ? { rejectUnauthorized: options.verifyCertificate ?? true }
          : undefined;
    const client = new Client({
      url,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      timeout: options.operationTimeoutMs ?? 30_000,
      ...(tlsOptions === undefined ? {} : { tlsOptions }),
    });
    try {
      if (options.startTls === true && /^ldap:/i.test(url)) await client.startTLS(tlsOptions ?? {});
      await client.bind(options.bindDn, options.bindPassword);
      const root = await client.search('', {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['namingContexts'],
      });
      const contexts = root.searchEntries.flatMap((entry) => toStrings(entry['namingContexts']));
      const csns: string[] = [];
      for (const base of contexts) {
        const found = await client.search(base, {
          scope: 'base',
          filter: '(objectClass=*)',
          attributes: ['contextCSN'],
        });
        csns.push(...found.searchEntries.flatMap((entry) => toStrings(entry['contextCSN'])));
      }
      if (csns.length > 0) return `csn:${csns.sort().join(',')}`;
      let count = 0;
      let newest = '';
      for (const base of contexts.length > 0 ? contexts : ['']) {
        const found = await client.search(base, {
          scope: 'sub',
          filter: ENTRIES,
          attributes: ['entryCSN', 'modifyTimestamp'],
          paged: { pageSize: 1000 },
        });
        for (const entry of found.searchEntries) {
          count += 1;
          const stamp =
            [...toStrings(entry['entryCSN']), ...toStrings(entry['modifyTimestamp'])]
              .sort()
              .pop() ?? '';
          if (stamp > newest) newest = stamp;
        }
      }
      return `entries:${count}:${newest}`;
    } catch (error) {
      lastError = error;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
  throw new ProxyConfError(
    'E_LDAP_CONNECT',
    `cannot ask LDAP for changes: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
    {
      cause: lastError,
      hint: 'the last good configuration stays; the daemon retries',
    },
  );
}

function toStrings(value: unknown): string[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  return values.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : String(item)));
}
