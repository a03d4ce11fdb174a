/**
 * What a proxy tells the fleet about the configuration it serves: its server name, the directory
 * revision it rendered (LDAP contextCSN, or a hash of the directory when the directory keeps
 * none) and the directory config hash: a hash of the resolved inputs every proxy shares (the
 * global config, servers and domains as loaded), so that "every proxy on the same directory"
 * is one comparison. The rendered files cannot serve for that: they hold each proxy's own name,
 * addresses and ports.
 */
import { createHash } from 'node:crypto';
import type { DirectoryEntry, DirectorySnapshot } from '../model/snapshot.js';
import type { Generation } from './generate.js';

/** The fleet identity of a rendered generation. */
export interface FleetIdentity {
  server: string;
  /** `csn:<contextCSN>` (LDAP with syncprov) or `hash:<first 16 hex of the directory hash>`. */
  revision: string;
  /** sha256 (hex) of the global config, servers and domains as loaded. */
  directoryHash: string;
}

/** sha256 over the entries every proxy reads alike, in a fixed order (dn, attribute, value). */
export function computeDirectoryHash(snapshot: DirectorySnapshot): string {
  const hash = createHash('sha256');
  const add = (label: string, entry: DirectoryEntry): void => {
    hash.update(`${label}\0${entry.dn.toLowerCase()}\n`);
    for (const name of Object.keys(entry.attrs).sort()) {
      // Operational stamps differ between replicas without changing the configuration.
      if (/^(entryCSN|modifyTimestamp|createTimestamp|modifiersName|creatorsName)$/i.test(name))
        continue;
      for (const value of [...(entry.attrs[name] ?? [])].sort()) {
        hash.update(`${name.toLowerCase()}\0${value}\n`);
      }
    }
  };
  add('config', snapshot.globalConfig);
  for (const entry of sortByDn(snapshot.servers)) add('server', entry);
  for (const entry of sortByDn(snapshot.domains)) add('domain', entry);
  return hash.digest('hex');
}

function sortByDn(entries: readonly DirectoryEntry[]): DirectoryEntry[] {
  return [...entries].sort((a, b) =>
    a.dn.toLowerCase() < b.dn.toLowerCase() ? -1 : a.dn.toLowerCase() > b.dn.toLowerCase() ? 1 : 0,
  );
}

/**
 * The identity of `generation`; `revision` is the contextCSN read before the directory was
 * loaded (undefined when the directory keeps none: the directory hash stands in).
 */
export function computeFleetIdentity(
  generation: Pick<Generation, 'server' | 'snapshot'>,
  revision: string | undefined,
): FleetIdentity {
  const directoryHash = computeDirectoryHash(generation.snapshot);
  return {
    server: generation.server,
    revision: revision ?? `hash:${directoryHash.slice(0, 16)}`,
    directoryHash,
  };
}

/** The generation with its identity attached (what --apply writes into the generation meta). */
export function withFleetIdentity(
  generation: Generation,
  revision: string | undefined,
): Generation {
  return { ...generation, identity: computeFleetIdentity(generation, revision) };
}

/** Characters a marker field may hold: it goes into an nginx string unescaped. */
const SAFE_FIELD = /^[A-Za-z0-9._:#+,-]*$/;

/** The identity as nginx may print it: a field with other characters is replaced by "invalid". */
export function markerSafeIdentity(identity: FleetIdentity): FleetIdentity {
  const safe = (value: string): string => (SAFE_FIELD.test(value) ? value : 'invalid');
  return {
    server: safe(identity.server),
    revision: safe(identity.revision),
    directoryHash: safe(identity.directoryHash),
  };
}

/**
 * The status file of the last --apply/--watch run (outcome, last success, last error), next to
 * the generations; the marker server serves it as `/zmproxy-status.json`.
 */
export function fleetStatusFile(confDir: string): string {
  return `${confDir}/nginx/zmproxy-status.json`;
}

/** What the status file holds. */
export interface FleetRunStatus {
  server?: string | undefined;
  /** Outcome of the last run (apply-outcomes.ts). */
  outcome: string;
  /** Epoch ms. */
  lastRunAt: number;
  lastSuccessAt?: number | undefined;
  /** Message of the last failed run; absent after a success. */
  lastError?: string | undefined;
  /** Epoch ms of that failure. */
  lastErrorAt?: number | undefined;
  /** The revision and directory hash the last run rendered (published or not). */
  renderedRevision?: string | undefined;
  renderedConfigHash?: string | undefined;
  /**
   * The directory revision and config hash nginx serves, and since when (epoch ms). A run that
   * renders a new revision into the same files ('unchanged') serves it without a new generation,
   * so this moves with such runs too; the generation's own meta keeps the hash it was built from.
   */
  servedRevision?: string | undefined;
  servedConfigHash?: string | undefined;
  servedSince?: number | undefined;
  /** Failed runs by reason (the error code), since the status file was created. */
  failures?: Record<string, number> | undefined;
  /** Invalid values of failed renders by subject (attribute or localconfig key). */
  problems?: Record<string, number> | undefined;
}
