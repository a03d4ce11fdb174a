/**
 * The LDAP directory source over ldapts: reads the same DirectorySnapshot the LDIF source builds
 * (classified by objectClass, canonical attribute names) and applies zmprov-style modifications.
 * ldapts errors are translated here, once, into ProxyConfError with a hint.
 */
import { Attribute, Change, InvalidCredentialsError, ResultCodeError } from 'ldapts';
import type { Client, Entry } from 'ldapts';
import { ProxyConfError } from '../../errors.js';
import { canonicalAttributeName } from '../../model/attribute-catalog.js';
import { buildSnapshot } from '../../model/build-snapshot.js';
import type { RawEntry } from '../../model/classify-entry.js';
import { classifyEntries, objectClassFilter } from '../../model/classify-entry.js';
import type { DirectorySnapshot, EntryKind } from '../../model/snapshot.js';
import type { DirectoryStore, EntryAddition, EntryModification } from '../../ports.js';
import {
  connectLdap,
  describeLdapError,
  describeLdapResultError,
  LDAP_AUTH_HINT,
  LDAP_CONNECT_HINT,
} from './connect.js';
import type { LdapSourceOptions } from './options.js';

/** {@link LdapSourceOptions} with every default applied. */
export interface ResolvedLdapSourceOptions {
  urls: readonly string[];
  bindDn: string;
  bindPassword: string;
  startTls: boolean;
  caFile: string | undefined;
  verifyCertificate: boolean;
  connectTimeoutMs: number;
  operationTimeoutMs: number;
  pageSize: number;
}

/** Normalises options once, at the entry point. */
export function resolveLdapSourceOptions(options: LdapSourceOptions): ResolvedLdapSourceOptions {
  const urls = options.urls.map((url) => url.trim()).filter((url) => url !== '');
  if (urls.length === 0) {
    throw new ProxyConfError('E_USAGE', 'no LDAP URL given', { hint: LDAP_CONNECT_HINT });
  }
  for (const url of urls) {
    if (!isLdapUrl(url)) {
      throw new ProxyConfError('E_USAGE', `"${url}" is not an LDAP URL`, {
        hint: 'write ldap://HOST[:PORT] or ldaps://HOST[:PORT] (localconfig ldap_url or --source)',
      });
    }
  }
  return {
    urls,
    bindDn: options.bindDn,
    bindPassword: options.bindPassword,
    startTls: options.startTls ?? false,
    caFile: options.caFile,
    verifyCertificate: options.verifyCertificate ?? true,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    operationTimeoutMs: options.operationTimeoutMs ?? 30000,
    pageSize: options.pageSize ?? 500,
  };
}

/** `ldap://host[:port][/]` or `ldaps://…`, as ldapts parses it. */
function isLdapUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return /^ldaps?:$/i.test(parsed.protocol) && parsed.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * A directory over LDAP. Connects lazily (first `load()` or `modify()`), trying the URLs in
 * order and failing over on a connect error or timeout; a refused bind stops at once (the
 * credentials are the same for every URL). Call `close()` when done: an open connection keeps
 * the Node process alive.
 */
export function createLdapDirectory(options: LdapSourceOptions): DirectoryStore {
  const resolved = resolveLdapSourceOptions(options);
  let connection: Promise<Client> | undefined;

  const connected = (): Promise<Client> => {
    connection ??= connectLdap(resolved, {
      bind: { dn: resolved.bindDn, password: resolved.bindPassword },
      // Replays the bind when ldapts reconnects after the server closed an idle connection.
      autoRebind: true,
    }).catch((error: unknown) => {
      connection = undefined;
      throw error;
    });
    return connection;
  };

  return {
    description: resolved.urls.join(' '),
    async load(
      kinds?: readonly EntryKind[],
      attributes?: readonly string[],
    ): Promise<DirectorySnapshot> {
      const client = await connected();
      try {
        return await readSnapshot(client, resolved, kinds, attributes);
      } catch (error) {
        throw translateOperationError(error, 'read the directory', resolved);
      }
    },
    async modify(modifications: readonly EntryModification[]): Promise<void> {
      if (modifications.length === 0) return;
      const client = await connected();
      for (const modification of modifications) {
        const changes = modification.changes.map(
          (change) =>
            new Change({
              operation: change.operation,
              modification: new Attribute({ type: change.attribute, values: [...change.values] }),
            }),
        );
        if (changes.length === 0) continue;
        try {
          await client.modify(modification.dn, changes);
        } catch (error) {
          throw translateOperationError(error, `modify ${modification.dn}`, resolved);
        }
      }
    },
    async add(entries: readonly EntryAddition[]): Promise<void> {
      const client = await connected();
      for (const entry of entries) {
        const attributes = Object.fromEntries(
          Object.entries(entry.attributes).map(([name, values]) => [name, [...values]]),
        );
        try {
          await client.add(entry.dn, attributes);
        } catch (error) {
          // 68: entryAlreadyExists, fine for a parent created only when missing.
          if (entry.ifMissing === true && (error as { code?: unknown }).code === 68) continue;
          throw translateOperationError(error, `add ${entry.dn}`, resolved);
        }
      }
    },
    async close(): Promise<void> {
      const pending = connection;
      connection = undefined;
      if (pending === undefined) return;
      const client = await pending.catch(() => undefined);
      await client?.unbind().catch(() => undefined);
    },
  };
}

/**
 * Reads the Zimbra entries of these kinds (default: all) of every naming context into one
 * snapshot; one search per context, its filter naming only the wanted object classes (and its
 * attribute list only the wanted attributes, when given), so the server never sends the accounts
 * to a job that does not need them.
 */
async function readSnapshot(
  client: Client,
  options: ResolvedLdapSourceOptions,
  kinds?: readonly EntryKind[],
  attributes?: readonly string[],
): Promise<DirectorySnapshot> {
  const filter = objectClassFilter(kinds);
  const search = async (bases: readonly string[]): Promise<RawEntry[]> => {
    const seen = new Set<string>();
    const raw: RawEntry[] = [];
    for (const base of bases) {
      const { searchEntries } = await client.search(base, {
        scope: 'sub',
        filter,
        // Only what the job reads: a global config carries hundreds of attributes it does not.
        ...(attributes === undefined ? {} : { attributes: [...attributes] }),
        paged: { pageSize: options.pageSize },
      });
      for (const entry of searchEntries) {
        const key = entry.dn.toLowerCase();
        if (seen.has(key)) continue;
        seen.add(key);
        raw.push({ dn: entry.dn, attrs: attributeMapOf(entry) });
      }
    }
    return raw;
  };
  // The global config and the servers live below cn=zimbra in every Zimbra directory (its
  // LdapDIT: cn=config,cn=zimbra and cn=servers,cn=zimbra): a job that reads nothing else
  // (zmprov gcf, gs) searches there, not the whole tree of accounts. Classification stays by
  // objectClass; a directory laid out otherwise (no global config found there) gets the full search.
  if (kinds !== undefined && kinds.every((kind) => ZIMBRA_BASE_KINDS.has(kind))) {
    const near = await search([ZIMBRA_BASE]).catch(() => undefined);
    const entries = near === undefined ? [] : classifyEntries(near, kinds);
    if (entries.some((entry) => entry.kind === 'globalConfig')) return buildSnapshot(entries);
  }
  return buildSnapshot(classifyEntries(await search(await namingContexts(client)), kinds));
}

/** Zimbra's base of its configuration entries, and the kinds that live there. */
const ZIMBRA_BASE = 'cn=zimbra';
const ZIMBRA_BASE_KINDS: ReadonlySet<EntryKind> = new Set(['globalConfig', 'server']);

/**
 * The root DSE's namingContexts; the null suffix (Zimbra's layout: cn=zimbra and the domains in
 * one database) when the server lists none or lists "".
 */
async function namingContexts(client: Client): Promise<string[]> {
  const { searchEntries } = await client.search('', {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['namingContexts'],
  });
  const contexts = valuesOf(searchEntries[0]?.['namingContexts']);
  if (contexts.length === 0 || contexts.includes('')) return [''];
  // A context below another one is covered by the outer search.
  const lower = contexts.map((context) => context.toLowerCase());
  return contexts.filter((_, index) => {
    const own = lower[index] ?? '';
    return !lower.some((other, j) => j !== index && own.endsWith(`,${other}`));
  });
}

/** Attribute values under canonical names; `name;option` joins `name`, as in the LDIF source. */
function attributeMapOf(entry: Entry): Record<string, string[]> {
  const keys = new Map<string, string>();
  const attrs: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(entry)) {
    const values = valuesOf(value);
    // ldapts lists every requested name, with no values when the entry has none.
    if (name === 'dn' || values.length === 0) continue;
    const canonical = canonicalAttributeName(name.split(';')[0] ?? name);
    const lower = canonical.toLowerCase();
    let key = keys.get(lower);
    if (key === undefined) {
      key = canonical;
      keys.set(lower, key);
      attrs[key] = [];
    }
    attrs[key]?.push(...values);
  }
  return attrs;
}

function valuesOf(value: Entry[string] | undefined): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => (typeof item === 'string' ? item : item.toString('utf8')));
}

/** Errors of an operation after a successful bind. */
function translateOperationError(
  error: unknown,
  what: string,
  options: ResolvedLdapSourceOptions,
): ProxyConfError {
  if (error instanceof ProxyConfError) return error;
  if (error instanceof InvalidCredentialsError || isResultCode(error, 50)) {
    return new ProxyConfError(
      'E_LDAP_AUTH',
      `LDAP refused to ${what} for "${options.bindDn}": ${describeLdapResultError(error as ResultCodeError)}`,
      { hint: `${LDAP_AUTH_HINT}; the bind DN needs read and write access`, cause: error },
    );
  }
  if (isResultCode(error, 32)) {
    return new ProxyConfError('E_INPUT', `cannot ${what}: no such entry`, {
      hint: 'check the entry name; `zmprov gs`/`gd` list what exists',
      cause: error,
    });
  }
  if (error instanceof ResultCodeError) {
    return new ProxyConfError(
      'E_ATTR_INVALID',
      `LDAP refused to ${what}: ${describeLdapResultError(error)}`,
      {
        hint: 'the directory schema rejected the change; check the attribute names and values',
        cause: error,
      },
    );
  }
  return new ProxyConfError(
    'E_LDAP_CONNECT',
    `lost the LDAP connection while trying to ${what} (${options.urls.join(' ')}): ${describeLdapError(error)}`,
    { hint: LDAP_CONNECT_HINT, cause: error },
  );
}

function isResultCode(error: unknown, code: number): boolean {
  return error instanceof ResultCodeError && error.code === code;
}
