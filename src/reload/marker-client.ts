/**
 * Reads a proxy's marker endpoint (the loopback server every generation includes): which
 * generation it serves, for which server, directory revision and config hash
 * (`/zmproxy-generation.json`), and how its last run ended (`/zmproxy-status.json`).
 */
import { request } from 'node:http';
import type { FleetRunStatus } from '../engine/fleet-identity.js';

/** What `/zmproxy-generation.json` answers. */
export interface ServedIdentity {
  generation: string;
  server: string;
  revision: string;
  configHash: string;
  /** Epoch ms the generation was published. */
  publishedAt: number;
}

/** One proxy's marker, read. */
export type MarkerReading =
  | { ok: true; served: ServedIdentity; status: FleetRunStatus | undefined }
  | { ok: false; error: string };

/** GET `path` on `host:port`; the body of a 200, or why not. */
export function httpGet(
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<{ ok: true; body: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: host.replace(/^\[|\]$/g, ''),
        port,
        path,
        agent: false,
        headers: { Connection: 'close' },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve(
            res.statusCode === 200
              ? { ok: true, body }
              : { ok: false, error: `${path} answered HTTP ${res.statusCode ?? '?'}` },
          ),
        );
        res.on('error', (error) => resolve({ ok: false, error: error.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ ok: false, error: error.message }));
    req.end();
  });
}

/** Parses `/zmproxy-generation.json`; undefined when it is not one. */
export function parseServedIdentity(text: string): ServedIdentity | undefined {
  try {
    const value = JSON.parse(text) as Partial<ServedIdentity>;
    if (
      typeof value.generation === 'string' &&
      typeof value.server === 'string' &&
      typeof value.revision === 'string' &&
      typeof value.configHash === 'string'
    ) {
      return {
        generation: value.generation,
        server: value.server,
        revision: value.revision,
        configHash: value.configHash,
        publishedAt: typeof value.publishedAt === 'number' ? value.publishedAt : 0,
      };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** Reads both documents of the marker at `host:port`. */
export async function readMarker(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<MarkerReading> {
  const identity = await httpGet(host, port, '/zmproxy-generation.json', timeoutMs);
  if (!identity.ok) return { ok: false, error: `${host}:${port}: ${identity.error}` };
  const served = parseServedIdentity(identity.body);
  if (served === undefined) {
    return {
      ok: false,
      error: `${host}:${port}: /zmproxy-generation.json is not a zmproxy generation identity (a generation published before zmproxy had fleet identities?)`,
    };
  }
  const status = await httpGet(host, port, '/zmproxy-status.json', timeoutMs);
  return { ok: true, served, status: status.ok ? parseStatus(status.body) : undefined };
}

/** The status document; undefined when it is not one (the checks of engine/run-status.ts). */
function parseStatus(text: string): FleetRunStatus | undefined {
  try {
    const value = JSON.parse(text) as Partial<FleetRunStatus> | null;
    return typeof value?.outcome === 'string' ? (value as FleetRunStatus) : undefined;
  } catch {
    return undefined;
  }
}
