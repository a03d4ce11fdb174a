import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  certificateFactsKey,
  checkGenerationCertificates,
  computeCertificateFacts,
  inspectCertificate,
  judgeCertificate,
} from '../../../src/engine/certificate-guard.js';
import type { Generation } from '../../../src/engine/generate.js';
import { resolvePaths } from '../../../src/model/paths.js';
import { testdir } from '../../helpers/testdir.js';

const DAY = 24 * 60 * 60 * 1000;

/** A self-signed pair for the names; `expired` re-signs it with its end in the past. */
function pair(names: string[], options: { expired?: boolean } = {}) {
  const dir = testdir();
  const p = (name: string) => join(dir, name);
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '365',
    '-subj',
    `/CN=${names[0] ?? 'x'}`,
    '-addext',
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '-keyout',
    p('key.pem'),
    '-out',
    p('cert.pem'),
  );
  if (options.expired === true) {
    run(
      'x509',
      '-in',
      p('cert.pem'),
      '-signkey',
      p('key.pem'),
      '-days',
      '-1',
      '-out',
      p('cert.pem'),
    );
  }
  return {
    certPem: readFileSync(p('cert.pem'), 'utf8'),
    keyPem: readFileSync(p('key.pem'), 'utf8'),
  };
}

describe('inspectCertificate', () => {
  it('passes a valid pair whose names cover the virtual hosts', () => {
    const good = pair(['mail.example.com', 'webmail.example.com']);
    const verdict = inspectCertificate(
      {
        subject: 'domain example.com',
        ...good,
        names: ['mail.example.com', 'webmail.example.com'],
      },
      Date.now(),
    );
    expect(verdict).toEqual({ refusals: [], warnings: [] });
  });

  it('refuses an expired certificate and a key that is not its own', () => {
    const expired = pair(['mail.example.com'], { expired: true });
    const other = pair(['other.example.com']);
    const verdict = inspectCertificate(
      { subject: 'domain example.com', certPem: expired.certPem, keyPem: other.keyPem, names: [] },
      Date.now(),
    );
    expect(verdict.refusals).toEqual([
      expect.stringMatching(/^domain example\.com: expired on \d{4}-\d\d-\d\d$/),
      "domain example.com: the private key is not the certificate's",
    ]);
  });

  it('warns about an expiry within 30 days and about virtual host names it does not cover', () => {
    const good = pair(['mail.example.com']);
    const verdict = inspectCertificate(
      { subject: 'domain example.com', ...good, names: ['mail.example.com', 'imap.example.com'] },
      Date.now() + 350 * DAY,
    );
    expect(verdict.refusals).toEqual([]);
    expect(verdict.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/expires on .*, in 1[45] days$/),
      expect.stringContaining('does not name imap.example.com'),
    ]);
  });

  it('refuses a certificate that is not valid yet', () => {
    const good = pair(['mail.example.com']);
    const verdict = inspectCertificate(
      { subject: 'default certificate', ...good, names: [] },
      Date.now() - 2 * DAY,
    );
    expect(verdict.refusals).toEqual([expect.stringContaining('not valid before')]);
  });
});

describe('certificate facts between runs', () => {
  it('judges kept facts at the time of each run, and parses a pair only when it is new', () => {
    const { certPem, keyPem } = pair(['mail.example.com']);
    const input = { certPem, keyPem, names: ['mail.example.com', 'other.example.com'] };
    const facts = computeCertificateFacts(input);
    expect(facts.keyProblem).toBeUndefined();
    expect(facts.uncovered).toEqual(['other.example.com']);
    // The same facts, judged a day before the end and after it.
    const soon = judgeCertificate('domain example.com', facts, facts.validTo - DAY);
    expect(soon.refusals).toEqual([]);
    expect(soon.warnings.map((w) => w.message).join('\n')).toMatch(/expires on \S+, in 1 days/);
    const later = judgeCertificate('domain example.com', facts, facts.validTo + DAY);
    expect(later.refusals[0]).toMatch(/expired on/);
    // The key is a hash of everything the facts depend on.
    expect(certificateFactsKey(input)).toBe(certificateFactsKey({ ...input }));
    expect(certificateFactsKey(input)).not.toBe(certificateFactsKey({ ...input, names: [] }));
  });

  it('takes kept facts instead of parsing, and keeps only those of this run', async () => {
    const { certPem, keyPem } = pair(['mail.example.com']);
    const generation = {
      paths: resolvePaths({ workdir: '/nonexistent-zmproxy' }),
      files: [
        { path: '/w/conf/domaincerts/example.com.crt', content: certPem, mode: 0o644 },
        { path: '/w/conf/domaincerts/example.com.key', content: keyPem, mode: 0o600 },
      ],
      snapshot: { domains: [] },
    } as unknown as Generation;
    const key = certificateFactsKey({ certPem, keyPem, names: [] });
    // A kept fact the parsing would never give: proof that it was used.
    const kept = new Map([
      [key, { validFrom: 0, validTo: Date.now() + 365 * DAY, keyProblem: 'kept', uncovered: [] }],
      ['stale', { validFrom: 0, validTo: 1, uncovered: [] }],
    ]);
    let saved: ReadonlyMap<string, unknown> | undefined;
    const verdict = await checkGenerationCertificates(
      generation,
      Date.now(),
      () => Promise.reject(new Error('no default pair')),
      { load: () => Promise.resolve(kept), save: (facts) => Promise.resolve(void (saved = facts)) },
    );
    expect(verdict.refusals).toEqual(['domain example.com: kept']);
    expect([...(saved?.keys() ?? [])]).toEqual([key]);
  });
});
