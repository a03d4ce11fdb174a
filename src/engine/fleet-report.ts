/**
 * `zmproxy fleet status`, the pure half: from the directory's proxy servers and what each one's
 * marker endpoint answered, the rows of the table, whether the fleet agrees, and the text.
 */
import type { FleetRunStatus } from './fleet-identity.js';
import type { DirectoryEntry } from '../model/snapshot.js';
import { entryName, valuesOf } from '../model/snapshot.js';

/** The servers that run the proxy: `zimbraServiceEnabled` holds `proxy` (as Zimbra marks them). */
export function proxyServerNames(servers: readonly DirectoryEntry[]): string[] {
  return servers
    .filter((server) =>
      (valuesOf(server, 'zimbraServiceEnabled') ?? []).some((s) => s.toLowerCase() === 'proxy'),
    )
    .map((server) => entryName(server))
    .sort();
}

/** One proxy as the table shows it. */
export interface FleetRow {
  server: string;
  /** Where its marker was asked. */
  marker: string;
  reachable: boolean;
  generation?: string | undefined;
  revision?: string | undefined;
  configHash?: string | undefined;
  /** The server name the marker reports (differs from `server`: a misplaced marker). */
  servedBy?: string | undefined;
  lastSuccessAt?: number | undefined;
  lastError?: string | undefined;
  lastOutcome?: string | undefined;
}

/** The fleet's verdict. */
export interface FleetVerdict {
  rows: FleetRow[];
  /** Every proxy answered and all serve the same directory config hash. */
  agree: boolean;
  /** Why not, one line each. */
  reasons: string[];
}

/** Judges the rows: unreachable proxies, a marker of another server, differing config hashes. */
export function judgeFleet(rows: readonly FleetRow[]): FleetVerdict {
  const reasons: string[] = [];
  if (rows.length === 0) reasons.push('the directory has no server with the proxy service enabled');
  for (const row of rows) {
    if (!row.reachable)
      reasons.push(`${row.server}: unreachable (${row.lastError ?? 'no answer'})`);
    else if (row.servedBy !== undefined && row.servedBy.toLowerCase() !== row.server.toLowerCase())
      reasons.push(`${row.server}: the marker at ${row.marker} belongs to ${row.servedBy}`);
  }
  const hashes = new Set(rows.filter((row) => row.reachable).map((row) => row.configHash ?? ''));
  if (hashes.size > 1) {
    reasons.push(
      `the proxies serve ${hashes.size} different directory config hashes: ${[...hashes]
        .map((hash) => short(hash))
        .join(', ')}`,
    );
  }
  return { rows: [...rows], agree: reasons.length === 0, reasons };
}

function short(hash: string): string {
  return hash === '' ? '-' : hash.slice(0, 12);
}

function time(ms: number | undefined): string {
  return ms === undefined || ms === 0 ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The table, then the verdict line. */
export function formatFleetTable(verdict: FleetVerdict): string {
  const header = ['SERVER', 'GENERATION', 'REVISION', 'CONFIG HASH', 'LAST SUCCESS', 'LAST ERROR'];
  const cells = verdict.rows.map((row) => [
    row.server,
    row.reachable ? (row.generation ?? '-') : 'unreachable',
    row.revision ?? '-',
    short(row.configHash ?? ''),
    time(row.lastSuccessAt),
    row.lastError === undefined ? '-' : oneLine(row.lastError),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => (line[column] ?? '').length)),
  );
  const format = (line: readonly string[]): string =>
    line
      .map((cell, column) => (column === line.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const lines = [format(header), ...cells.map(format)];
  lines.push(
    verdict.agree
      ? `all ${verdict.rows.length} proxies serve config hash ${short(verdict.rows[0]?.configHash ?? '')}`
      : `the fleet disagrees:\n${verdict.reasons.map((reason) => `  ${reason}`).join('\n')}`,
  );
  return `${lines.join('\n')}\n`;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

/** A row from a marker reading. */
export function rowFromReading(
  server: string,
  marker: string,
  reading:
    | {
        ok: true;
        served: { generation: string; server: string; revision: string; configHash: string };
        status: FleetRunStatus | undefined;
      }
    | { ok: false; error: string },
): FleetRow {
  if (!reading.ok) return { server, marker, reachable: false, lastError: reading.error };
  return {
    server,
    marker,
    reachable: true,
    generation: reading.served.generation,
    revision: reading.status?.servedRevision ?? reading.served.revision,
    configHash: servedIdentity(reading).configHash,
    servedBy: reading.served.server,
    lastSuccessAt: reading.status?.lastSuccessAt,
    lastError: reading.status?.lastError,
    lastOutcome: reading.status?.outcome,
  };
}

/**
 * What a proxy serves: its status file's served identity when it has one (an unchanged run moves
 * it to a new revision whose files are the same), else the identity of the generation nginx loaded.
 */
export function servedIdentity(reading: {
  served: { configHash: string; publishedAt?: number | undefined };
  status: FleetRunStatus | undefined;
}): { configHash: string; since: number } {
  const status = reading.status;
  if (status?.servedConfigHash !== undefined && status.servedSince !== undefined)
    return { configHash: status.servedConfigHash, since: status.servedSince };
  return { configHash: reading.served.configHash, since: reading.served.publishedAt ?? 0 };
}
