/**
 * `zmproxyctl status --json`: whether nginx runs, the generation it serves and that generation's
 * fleet identity (server, directory revision, directory config hash, from the generation's
 * `zmproxy-generation.json`), and how the last --apply/--watch run ended (the status file).
 */
import { readFile } from 'node:fs/promises';
import { fleetStatusFile } from '../engine/fleet-identity.js';
import { parseRunStatus } from '../engine/run-status.js';
import { GENERATION_META_FILE } from '../reload/generation-store.js';
import type { GenerationMeta } from '../ports.js';

/** The document `zmproxyctl status --json` prints. */
export interface CtlStatus {
  running: boolean;
  pid: number | null;
  generation: string | null;
  server: string | null;
  revision: string | null;
  configHash: string | null;
  /** sha256 of the generation's files (differs per proxy: names and ports are in them). */
  filesHash: string | null;
  lastOutcome: string | null;
  /** ISO times. */
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** Collects the status of the work directory `workdir`. */
export async function collectCtlStatus(
  workdir: string,
  pid: number | undefined,
  generation: string | undefined,
): Promise<CtlStatus> {
  const confDir = `${workdir}/conf`;
  let meta: GenerationMeta | undefined;
  if (generation !== undefined) {
    const text = await readText(
      `${confDir}/nginx/generations/${generation}/${GENERATION_META_FILE}`,
    );
    try {
      meta = text === undefined ? undefined : (JSON.parse(text) as GenerationMeta);
    } catch {
      meta = undefined;
    }
  }
  const statusText = await readText(fleetStatusFile(confDir));
  const status = statusText === undefined ? undefined : parseRunStatus(statusText);
  return {
    running: pid !== undefined,
    pid: pid ?? null,
    generation: generation ?? null,
    server: meta?.server ?? null,
    revision: meta?.revision ?? null,
    configHash: meta?.directoryHash ?? null,
    filesHash: meta?.hash ?? null,
    lastOutcome: status?.outcome ?? null,
    lastRunAt: iso(status?.lastRunAt),
    lastSuccessAt: iso(status?.lastSuccessAt),
    lastError: status?.lastError ?? null,
  };
}
