/**
 * The cheap fingerprint `--watch` polls: mtimes and sizes of the LDIF files, localconfig, hosts
 * file and templates, and for LDAP the naming contexts' contextCSN (one base read each), or,
 * when the server keeps none (no syncprov), the count and newest entryCSN/modifyTimestamp of
 * the global config, server and domain entries (only those two attributes are read).
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'ldapts';
import { ProxyConfError } from '../errors.js';
import { connectLdap, resolveLdapSourceOptions } from '../sources/ldap/index.js';
import type { LdapSourceOptions } from '../sources/ldap/options.js';

/** Options of {@link createInputFingerprint}. */
export interface InputFingerprintOptions {
  /** Files whose mtime and size count (LDIF files, localconfig, hosts file). */
  files: readonly string[];
  /** Directories whose files' mtimes and sizes count (templates). */
  dirs: readonly string[];
  /** The LDAP directory, when the source is LDAP. */
  ldap?: LdapSourceOptions | undefined;
  /**
   * Told the directory revision each probe of LDAP saw (`csn:…`, or undefined without
   * contextCSN), so that the pass that follows need not ask again.
   */
  onRevision?: ((revision: string | undefined) => void) | undefined;
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
    if (options.ldap !== undefined) {
      const part = await ldapFingerprint(options.ldap);
      options.onRevision?.(part.startsWith('csn:') ? part : undefined);
      hash.update(part);
    }
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
  return withLdap(options, async (client) => {
    const { contexts, csn } = await readContextCsn(client);
    if (csn !== undefined) return csn;
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
        // entryCSN has microseconds; modifyTimestamp only seconds (two changes in one second
        // would look alike), and as text "…51Z" sorts after "…51.123456Z": a fallback only.
        const stamp =
          toStrings(entry['entryCSN']).sort().pop() ??
          toStrings(entry['modifyTimestamp']).sort().pop() ??
          '';
        if (stamp > newest) newest = stamp;
      }
    }
    return `entries:${count}:${newest}`;
  });
}

/** Connects and binds as the generator does (TLS verified against the URL's host), runs `use`. */
async function withLdap<T>(
  options: LdapSourceOptions,
  use: (client: Client) => Promise<T>,
): Promise<T> {
  let client: Client;
  try {
    client = await connectLdap(resolveLdapSourceOptions(options), {
      bind: { dn: options.bindDn, password: options.bindPassword },
    });
  } catch (error) {
    throw cannotAsk(error);
  }
  try {
    return await use(client);
  } catch (error) {
    throw cannotAsk(error);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** The naming contexts and `csn:<contextCSN,…>` of them (undefined without syncprov). */
async function readContextCsn(
  client: Client,
): Promise<{ contexts: string[]; csn: string | undefined }> {
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
  return { contexts, csn: csns.length > 0 ? `csn:${csns.sort().join(',')}` : undefined };
}

function cannotAsk(error: unknown): ProxyConfError {
  return new ProxyConfError(
    'E_LDAP_CONNECT',
    `cannot ask LDAP for changes: ${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
      hint: 'the last good configuration stays; the daemon retries',
    },
  );
}

function toStrings(value: unknown): string[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  return values.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : String(item)));
}

/**
 * The directory part of the fingerprint as text, for a reader that shows which revision it
 * follows (the lookup service): `csn:<contextCSN>,…` or, without syncprov, `entries:<n>:<newest>`.
 * Throws E_LDAP_CONNECT like the fingerprint.
 */
export function readDirectoryRevision(ldap: LdapSourceOptions): Promise<string> {
  return ldapFingerprint(ldap);
}

/**
 * The directory revision for the fleet view: `csn:<contextCSN,…>` of the naming contexts (what
 * every replica of one directory agrees on once in sync), or undefined when the server keeps no
 * contextCSN (no syncprov) or cannot be asked (the render that follows reports why).
 */
export async function readContextCsnRevision(
  options: LdapSourceOptions,
): Promise<string | undefined> {
  try {
    return await withLdap(options, async (client) => (await readContextCsn(client)).csn);
  } catch {
    return undefined;
  }
}
