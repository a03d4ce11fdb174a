/**
 * Assembles classified directory entries into one DirectorySnapshot: checks what a real directory
 * guarantees (one global config, unique server and domain names) and sorts for stable output.
 */
import { ProxyConfError } from '../errors.js';
import type { DirectoryEntry, DirectorySnapshot } from './snapshot.js';
import { EMPTY_GLOBAL_CONFIG, entryName, firstValueOf } from './snapshot.js';

/** Builds the snapshot from entries of any files; throws E_LDIF on duplicates, naming both origins. */
export function buildSnapshot(entries: readonly DirectoryEntry[]): DirectorySnapshot {
  let globalConfig: DirectoryEntry | undefined;
  const servers: DirectoryEntry[] = [];
  const domains: DirectoryEntry[] = [];
  const accounts: DirectoryEntry[] = [];
  const aliases: DirectoryEntry[] = [];
  const cos: DirectoryEntry[] = [];

  for (const entry of entries) {
    switch (entry.kind) {
      case 'globalConfig':
        if (globalConfig !== undefined) {
          throw new ProxyConfError(
            'E_LDIF',
            `${where(entry)}: a second global config entry (${entry.dn}); the first is at ${where(globalConfig)} (${globalConfig.dn})`,
            { hint: 'a directory has exactly one zimbraGlobalConfig entry; remove one of them' },
          );
        }
        globalConfig = entry;
        break;
      case 'server':
        servers.push(entry);
        break;
      case 'domain':
        domains.push(entry);
        break;
      case 'account':
        accounts.push(entry);
        break;
      case 'alias':
        aliases.push(entry);
        break;
      case 'cos':
        cos.push(entry);
        break;
    }
  }

  const serverName = (entry: DirectoryEntry): string =>
    firstValueOf(entry, 'cn') ?? entryName(entry);
  rejectDuplicates(servers, serverName, 'server', 'cn');
  rejectDuplicates(domains, entryName, 'domain', 'zimbraDomainName');

  return {
    globalConfig: globalConfig ?? EMPTY_GLOBAL_CONFIG,
    servers: sortByName(servers, serverName),
    domains: sortByName(domains, entryName),
    accounts: sortByName(accounts, entryName),
    aliases: sortByName(aliases, entryName),
    cos: sortByName(cos, entryName),
  };
}

/** `file:line` of an entry read from LDIF, else its DN. */
function where(entry: DirectoryEntry): string {
  return entry.origin === undefined ? entry.dn : `${entry.origin.file}:${entry.origin.line}`;
}

function rejectDuplicates(
  entries: readonly DirectoryEntry[],
  nameOf: (entry: DirectoryEntry) => string,
  kind: string,
  attribute: string,
): void {
  const seen = new Map<string, DirectoryEntry>();
  for (const entry of entries) {
    const name = nameOf(entry);
    const key = name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ProxyConfError(
        'E_LDIF',
        `${where(entry)}: ${kind} "${name}" is defined twice; the first is at ${where(first)}`,
        {
          hint: `${attribute} must be unique among ${kind}s; remove one entry or give each input file once`,
        },
      );
    }
    seen.set(key, entry);
  }
}

/** Sorted by name without regard to case, then by exact name (code-unit order, locale-free). */
function sortByName(
  entries: readonly DirectoryEntry[],
  nameOf: (entry: DirectoryEntry) => string,
): DirectoryEntry[] {
  return entries
    .map((entry) => ({ entry, name: nameOf(entry), lower: nameOf(entry).toLowerCase() }))
    .sort((a, b) => compare(a.lower, b.lower) || compare(a.name, b.name))
    .map(({ entry }) => entry);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
