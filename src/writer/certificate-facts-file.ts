/** The certificate facts cache as a JSON file (see checkGenerationCertificates). */
import { readFile } from 'node:fs/promises';
import type { CertificateFacts, CertificateFactsCache } from '../engine/certificate-guard.js';
import { writeFileAtomic } from './file-store.js';

/** Where a work directory keeps the facts of the certificates it last checked. */
export function certificateFactsPath(workdir: string): string {
  return `${workdir}/data/zmproxy/certificate-facts.json`;
}

/**
 * A cache in one file. A missing or damaged file is an empty cache (the facts are computed
 * again); a failed write is ignored (the next run parses again).
 */
export function createCertificateFactsFile(path: string): CertificateFactsCache {
  return {
    async load() {
      try {
        const parsed = JSON.parse(await readFile(path, 'utf8')) as {
          version?: unknown;
          facts?: Record<string, CertificateFacts>;
        };
        if (parsed.version !== 1 || typeof parsed.facts !== 'object') return new Map();
        return new Map(Object.entries(parsed.facts ?? {}));
      } catch {
        return new Map();
      }
    },
    async save(facts) {
      const text = JSON.stringify({ version: 1, facts: Object.fromEntries(facts) });
      // Dates and names only, but derived from the keys: readable by root alone.
      await writeFileAtomic(path, `${text}\n`, 0o600).catch(() => undefined);
    },
  };
}
