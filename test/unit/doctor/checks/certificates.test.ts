import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkCertificates,
  computeCertificatePairs,
} from '../../../../src/doctor/checks/certificates.js';
import type { CertificatePair } from '../../../../src/doctor/probes/certificates.js';
import { probeCertificates } from '../../../../src/doctor/probes/certificates.js';
import { writeSelfSignedCertificate } from '../../../helpers/certificates.js';
import { context, domain, globalConfig, server, snapshot } from '../../../helpers/builders.js';
import { testdir } from '../../../helpers/testdir.js';
import { CERT_C, KEY_C } from '../../../helpers/pem.js';

const DAY = 24 * 60 * 60 * 1000;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** A CA and a leaf it signed, each valid `days`; returns the file paths. */
function writeChain(dir: string, days = 365) {
  const p = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-days',
    String(days),
    '-subj',
    '/CN=Test CA',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
  );
  openssl(
    'req',
    ...ec,
    '-subj',
    '/CN=mail.example.com',
    '-keyout',
    p('leaf.key'),
    '-out',
    p('leaf.csr'),
  );
  openssl(
    'x509',
    '-req',
    '-in',
    p('leaf.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    String(days),
    '-out',
    p('leaf.crt'),
  );
  const leaf = readFileSync(p('leaf.crt'), 'utf8');
  const ca = readFileSync(p('ca.crt'), 'utf8');
  writeFileSync(p('chain.crt'), leaf + ca);
  writeFileSync(p('reversed.crt'), ca + leaf);
  return {
    chain: p('chain.crt'),
    reversed: p('reversed.crt'),
    key: p('leaf.key'),
    caKey: p('ca.key'),
  };
}

async function check(pair: CertificatePair, now = Date.now()) {
  return checkCertificates(await probeCertificates([pair]), now);
}

describe('certificates', () => {
  it('passes a chain in order with its matching, unencrypted key', async () => {
    const files = writeChain(testdir());
    const findings = await check({ subject: 'default', certPath: files.chain, keyPath: files.key });
    expect(findings).toHaveLength(1);
    expect(findings[0]?.severity).toBe('ok');
    expect(findings[0]?.evidence).toContain(
      'CN=mail.example.com, 2 certificates in order, key matches',
    );
  });

  it('fails when the certificate and key files are missing', async () => {
    const dir = testdir();
    const findings = await check({
      subject: 'default',
      certPath: join(dir, 'nginx.crt'),
      keyPath: join(dir, 'nginx.key'),
    });
    expect(findings.map((f) => f.severity)).toEqual(['fail']);
    expect(findings[0]?.evidence).toContain('no such file');
  });

  it('detects an encrypted key by its PEM header', async () => {
    const files = writeChain(testdir());
    const encrypted = `${files.key}.enc`;
    openssl('pkey', '-in', files.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted);
    const findings = await check({ subject: 'default', certPath: files.chain, keyPath: encrypted });
    const failure = findings.find((f) => f.severity === 'fail');
    expect(failure?.evidence).toContain('is encrypted with a pass phrase');
    expect(failure?.explanation).toContain('asks for the pass phrase');
    expect(failure?.fix).toContain(`openssl pkey -in ${encrypted}`);
  });

  it('fails a key that does not belong to the certificate', async () => {
    const files = writeChain(testdir());
    const findings = await check({
      subject: 'default',
      certPath: files.chain,
      keyPath: files.caKey,
    });
    expect(findings.find((f) => f.severity === 'fail')?.evidence).toContain(
      'is not the one in the first certificate',
    );
  });

  it('warns about a certificate that expires within 30 days, and fails an expired one', async () => {
    const dir = testdir();
    writeSelfSignedCertificate(join(dir, 'c.crt'), join(dir, 'c.key'), 'mail.example.com');
    const pair = { subject: 'default', certPath: join(dir, 'c.crt'), keyPath: join(dir, 'c.key') };
    const soon = await check(pair);
    expect(soon[0]?.severity).toBe('warn');
    expect(soon[0]?.evidence).toMatch(/expires on \d{4}-\d\d-\d\d, in [01] days?/);
    const expired = await check(pair, Date.now() + 10 * DAY);
    expect(expired[0]?.severity).toBe('fail');
    expect(expired[0]?.evidence).toContain('expired on');
  });

  it('warns about a chain out of order', async () => {
    const files = writeChain(testdir());
    const findings = await check({
      subject: 'default',
      certPath: files.reversed,
      keyPath: files.key,
    });
    const order = findings.find((f) => f.evidence.includes('certificate 1 (CN=Test CA)'));
    expect(order?.severity).toBe('warn');
    expect(order?.explanation).toContain('unable to get local issuer certificate');
  });

  it("checks a domain's PEM from the directory when its file is not written yet", async () => {
    const files = writeChain(testdir());
    const dir = testdir();
    const findings = await check({
      subject: 'domain example.com',
      certPath: join(dir, 'example.com.crt'),
      keyPath: join(dir, 'example.com.key'),
      certPem: readFileSync(files.chain, 'utf8'),
      keyPem: readFileSync(files.key, 'utf8'),
    });
    expect(findings[0]?.severity).toBe('ok');
    expect(findings[0]?.evidence).toContain("the directory's PEM");
  });

  it('lists the default pair and one per domain with its own certificate', () => {
    const { ctx } = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ zimbraReverseProxyGenConfigPerVirtualHostname: 'TRUE' }),
        servers: [server('proxy1.example.com')],
        domains: [
          domain('example.com', {
            zimbraVirtualHostname: 'mail.example.com',
            zimbraSSLCertificate: CERT_C,
            zimbraSSLPrivateKey: KEY_C,
          }),
          domain('example.org', { zimbraVirtualHostname: 'mail.example.org' }),
        ],
      }),
      workdir: '/z',
    });
    expect(computeCertificatePairs(ctx).map((p) => [p.subject, p.certPath, p.certPem])).toEqual([
      ['default', '/z/conf/nginx.crt', undefined],
      ['domain example.com', '/z/conf/domaincerts/example.com.crt', CERT_C],
    ]);
  });
});

describe('certificate fixes on a work directory --apply manages', () => {
  it('republishes a domain certificate with --apply and reloads for a file nginx reads itself', async () => {
    const files = writeChain(testdir());
    const expired = Date.now() + 400 * DAY;
    const [domainFacts] = await probeCertificates([
      { subject: 'domain example.com', certPath: files.chain, keyPath: files.key },
    ]);
    const [defaultFacts] = await probeCertificates([
      { subject: 'default', certPath: files.chain, keyPath: files.key },
    ]);
    const publish = { managed: true, workdir: '/srv/zimbra' };
    const [domain] = checkCertificates([domainFacts!], expired, publish);
    expect(domain?.severity).toBe('fail');
    expect(domain?.fix).toMatch(/&& zmproxyconfgen --apply -w \/srv\/zimbra$/);
    const [own] = checkCertificates([defaultFacts!], expired, publish);
    expect(own?.fix).toMatch(/&& zmproxyctl reload -w \/srv\/zimbra$/);
  });
});
