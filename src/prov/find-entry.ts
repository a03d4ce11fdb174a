/**
 * Finding the server or domain a zmprov command names, by name or zimbraId (docs/zimbra-notes.md
 * "How the generator collects servers and domains").
 */
import { ProxyConfError } from '../errors.js';
import type { DirectoryEntry, DirectorySnapshot } from '../model/snapshot.js';
import { entryName, firstValueOf } from '../model/snapshot.js';
import { editDistance } from './attribute-edits.js';

/** How many candidate names an "unknown entry" hint lists. */
const MAX_CANDIDATES = 10;

/** The server named `key` (cn, case-insensitive) or with that zimbraId; throws E_INPUT listing candidates. */
export function findServer(snapshot: DirectorySnapshot, key: string): DirectoryEntry {
  return findEntry(snapshot.servers, key, 'server', 'give a server name (cn) or its zimbraId');
}

/** The domain named `key` (zimbraDomainName, case-insensitive) or with that zimbraId. */
export function findDomain(snapshot: DirectorySnapshot, key: string): DirectoryEntry {
  return findEntry(snapshot.domains, key, 'domain', 'give a domain name or its zimbraId');
}

function findEntry(
  entries: readonly DirectoryEntry[],
  key: string,
  kind: string,
  listHint: string,
): DirectoryEntry {
  const lower = key.toLowerCase();
  const found =
    entries.find((entry) => entryName(entry).toLowerCase() === lower) ??
    entries.find((entry) => firstValueOf(entry, 'zimbraId')?.toLowerCase() === lower);
  if (found !== undefined) return found;
  const names = entries.map(entryName);
  const first = lower.split('.')[0] ?? lower;
  const close = names.filter((name) => {
    const candidate = name.toLowerCase();
    return candidate.includes(first) || editDistance(candidate, lower) <= 2;
  });
  const shown = (close.length > 0 ? close : names).slice(0, MAX_CANDIDATES);
  const more = names.length > shown.length && close.length === 0 ? ', …' : '';
  throw new ProxyConfError('E_INPUT', `no such ${kind}: ${key}`, {
    hint:
      names.length === 0
        ? `the directory has no ${kind}; ${listHint}`
        : `${close.length > 0 ? 'similar' : 'known'} ${kind}s: ${shown.join(', ')}${more}`,
  });
}
