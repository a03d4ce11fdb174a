/**
 * The fleet side of `zmproxyconfgen --apply/--watch`: the status file after each run, the fleet
 * metrics, and the canary gate of `--canary-wait` asking the canary's marker endpoint.
 */
import { readFile } from 'node:fs/promises';
import type { ApplyResult } from '../../engine/apply.js';
import type { CanaryGate, CanaryObservation } from '../../engine/canary.js';
import { createCanaryGate } from '../../engine/canary.js';
import type { FleetIdentity, FleetRunStatus } from '../../engine/fleet-identity.js';
import { fleetStatusFile } from '../../engine/fleet-identity.js';
import { formatFleetMetrics } from '../../engine/fleet-metrics.js';
import { servedIdentity } from '../../engine/fleet-report.js';
import { nextRunStatus, parseRunStatus } from '../../engine/run-status.js';
import type { GenerationStore, HostResolver } from '../../ports.js';
import { writeTextAtomic } from '../../reload/apply-state-file.js';
import { readMarker } from '../../reload/marker-client.js';
import { STOCK_GENERATION_PORT } from '../../vars/stock.js';

async function readStatus(file: string): Promise<FleetRunStatus | undefined> {
  try {
    return parseRunStatus(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Records `result` in the status file (world-readable: nginx's workers serve it). */
export async function recordRunStatus(
  confDir: string,
  result: ApplyResult,
  rendered: FleetIdentity | undefined,
  now: number,
): Promise<FleetRunStatus> {
  const file = fleetStatusFile(confDir);
  const next = nextRunStatus(await readStatus(file), result, rendered, now);
  await writeTextAtomic(file, `${JSON.stringify(next, null, 2)}\n`, 0o644);
  return next;
}

/** The fleet metrics of the generation served and the status file. */
export async function fleetMetricsText(
  confDir: string,
  generations: GenerationStore,
): Promise<string> {
  const current = await generations.current().catch(() => undefined);
  const meta = current === undefined ? undefined : await generations.readMeta(current);
  return formatFleetMetrics(meta, await readStatus(fleetStatusFile(confDir)));
}

/** How the canary's marker is found and asked. */
export interface CanaryContext {
  /** The canary's server name now (localconfig zmproxy_canary_server); '' when unset. */
  canary: () => string;
  resolver: () => Promise<HostResolver>;
  waitMs: number;
  pollMs: number;
  now: () => number;
  timeoutMs?: number;
}

/** The gate of `--canary-wait`: the canary's marker at its server name's address, port 7078. */
export function canaryGateFor(context: CanaryContext): CanaryGate {
  const observe = async (canary: string): Promise<CanaryObservation> => {
    const answer = (await (await context.resolver()).resolve([canary])).get(canary.toLowerCase());
    if (answer === undefined || !answer.ok) {
      return { reachable: false, error: `${canary} does not resolve` };
    }
    const address = answer.addresses[0]!.address;
    const host = address.includes(':') ? `[${address}]` : address;
    const reading = await readMarker(host, STOCK_GENERATION_PORT, context.timeoutMs ?? 2000);
    if (!reading.ok) return { reachable: false, error: reading.error };
    const { configHash, since } = servedIdentity(reading);
    return {
      reachable: true,
      configHash,
      publishedAt: since,
      generation: reading.served.generation,
      healthy: reading.status === undefined || reading.status.lastError === undefined,
    };
  };
  return {
    check: (rendered) =>
      createCanaryGate({
        canary: context.canary(),
        waitMs: context.waitMs,
        pollMs: context.pollMs,
        now: context.now,
        observe,
      }).check(rendered),
  };
}
