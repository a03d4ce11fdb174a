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
  let client: Client;
  try {
    // The same connection path as the generator: TLS verified against the URL's host.
    client = await connectLdap(resolveLdapSourceOptions(options), {
      bind: { dn: options.bindDn, password: options.bindPassword },
    });
  } catch (error) {
    throw cannotAsk(error);
  }
  try {
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
          [...toStrings(entry['entryCSN']), ...toStrings(entry['modifyTimestamp'])].sort().pop() ??
          '';
        if (stamp > newest) newest = stamp;
      }
    }
    return `entries:${count}:${newest}`;
  } catch (error) {
    throw cannotAsk(error);
  } finally {
    await client.unbind().catch(() => undefined);
  }
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
 * The directory revision for the fleet view: `csn:<contextCSN,…>` of the naming contexts (what
 * every replica of one directory agrees on once in sync), or undefined when the server keeps no
 * contextCSN (no syncprov) or cannot be asked (the render that follows reports why).
 */
export async function readContextCsnRevision(
  options: LdapSourceOptions,
): Promise<string | undefined> {
  let client: Client;
  try {
    client = await connectLdap(resolveLdapSourceOptions(options), {
      bind: { dn: options.bindDn, password: options.bindPassword },
    });
  } catch {
    return undefined;
  }
  try {
    const root = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['namingContexts'],
    });
    const csns: string[] = [];
    for (const base of root.searchEntries.flatMap((entry) => toStrings(entry['namingContexts']))) {
      const found = await client.search(base, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['contextCSN'],
      });
      csns.push(...found.searchEntries.flatMap((entry) => toStrings(entry['contextCSN'])));
    }
    return csns.length > 0 ? `csn:${csns.sort().join(',')}` : undefined;
  } catch {
    return undefined;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
