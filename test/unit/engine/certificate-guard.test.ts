import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectCertificate } from '../../../src/engine/certificate-guard.js';
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
