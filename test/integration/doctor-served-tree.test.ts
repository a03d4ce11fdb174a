/**
 * zmproxy doctor against a tree `zmproxyconfgen --apply` published (real nginx -t, real files):
 * a lookup handler added by hand to the served `nginx.conf.zmlookup`, a commercial certificate
 * that was never deployed, and a default key nginx's workers cannot read under the certificate
 * map; each found, and each gone after the fix the doctor prints.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as doctor } from '../../src/cli/doctor.js';
import { run as confgen } from '../../src/cli/zmproxyconfgen.js';
import type { DoctorReport, Finding } from '../../src/doctor/finding.js';
import { writeSelfSignedCertificate } from '../helpers/certificates.js';
import { freePorts } from '../helpers/ports.js';
import { localhostServerHead } from '../helpers/mail-stack.js';
import {
  localConfigXml,
  resetDirectory,
  stackDirectoryArgs,
  stackValue,
} from '../helpers/stack.js';
import { captureIo } from '../helpers/testdir.js';

const NGINX = '/usr/sbin/nginx';
let work = '';
let common: string[] = [];

function ldif(ports: number[]): string {
  const [http, https, imap, imaps, pop3, pop3s, backend] = ports.map(String);
  return `dn: cn=config,cn=zimbra
objectClass: organizationalRole
objectClass: zimbraGlobalConfig
cn: config
zimbraMemcachedBindPort: ${stackValue('MEMCACHED_PORT')}

${localhostServerHead()}
zimbraReverseProxyLookupTarget: TRUE
zimbraReverseProxySSLToUpstreamEnabled: FALSE
zimbraMailMode: http
zimbraMailPort: ${backend}
zimbraMailSSLPort: ${backend}
zimbraExtensionBindPort: ${backend}
zimbraMailProxyPort: ${http}
zimbraMailSSLProxyPort: ${https}
zimbraImapProxyBindPort: ${imap}
zimbraImapSSLProxyBindPort: ${imaps}
zimbraPop3ProxyBindPort: ${pop3}
zimbraPop3SSLProxyBindPort: ${pop3s}
zimbraReverseProxyHttpEnabled: TRUE
zimbraReverseProxyMailEnabled: TRUE
zimbraReverseProxyMailMode: both
`;
}

async function runDoctor(): Promise<DoctorReport> {
  const { io, out } = captureIo();
  await doctor([...common, '--server', 'localhost', '--timeout', '500', '--json'], io);
  return JSON.parse(out.stdout) as DoctorReport;
}

const of = (report: DoctorReport, check: string): Finding[] =>
  report.findings.filter((finding) => finding.check === check);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'zmproxy-doctor-tree-'));
  chmodSync(work, 0o755);
  for (const dir of ['conf', 'log', 'data/tmp/nginx', 'data/nginx/html'])
    mkdirSync(join(work, dir), { recursive: true });
  writeSelfSignedCertificate(join(work, 'conf/nginx.crt'), join(work, 'conf/nginx.key'));
  chmodSync(join(work, 'conf/nginx.key'), 0o600);
  writeFileSync(join(work, 'directory.ldif'), ldif(await freePorts(7)));
  await resetDirectory(join(work, 'directory.ldif'));
  writeFileSync(join(work, 'hosts'), '127.0.0.1 localhost\n');
  writeFileSync(
    join(work, 'localconfig.xml'),
    localConfigXml([
      ['zimbra_server_hostname', 'localhost'],
      ['zmproxy_certificate_selection', 'map'],
    ]),
  );
  common = stackDirectoryArgs(work);
  const { io, out } = captureIo();
  const code = await confgen([...common, '--apply', '--no-reload', '--nginx', NGINX], io);
  if (code !== 10) throw new Error(`--apply exited ${code}: ${out.stderr}${out.stdout}`);
});

afterAll(() => {
  if (work !== '' && process.env['ZMPROXY_KEEP_STACK'] === undefined)
    rmSync(work, { recursive: true, force: true });
});

describe('zmproxy doctor on a published tree', () => {
  it('finds the served lookup handlers as computed, then a handler added by hand', async () => {
    expect(of(await runDoctor(), 'deployed-lookup-handlers').map((f) => f.severity)).toEqual([
      'ok',
    ]);
    const served = join(work, 'conf/nginx/current/includes/nginx.conf.zmlookup');
    const text = readFileSync(served, 'utf8');
    writeFileSync(
      served,
      text.replace(
        /upstream zmlookup \{\n/,
        'upstream zmlookup {\n    server    127.0.0.9:7077;\n',
      ),
    );
    const [finding] = of(await runDoctor(), 'deployed-lookup-handlers');
    expect(finding?.severity).toBe('fail');
    expect(finding?.evidence).toContain('not from the directory: 127.0.0.9:7077');
    expect(finding?.fix).toBe('zmproxyconfgen --apply');
    writeFileSync(served, text);
  });

  it('warns about a commercial pair that was never deployed, and passes after its fix', async () => {
    expect(of(await runDoctor(), 'commercial-certificate')[0]?.severity).toBe('ok');
    const dir = join(work, 'ssl/zimbra/commercial');
    mkdirSync(dir, { recursive: true });
    writeSelfSignedCertificate(
      join(dir, 'commercial.crt'),
      join(dir, 'commercial.key'),
      'mail.example.test',
    );
    writeFileSync(join(dir, 'commercial_ca.crt'), '');
    const [finding] = of(await runDoctor(), 'commercial-certificate');
    expect(finding?.severity).toBe('warn');
    expect(finding?.evidence).toContain('is another certificate');
    // The fix, without its last step (nginx is not running here).
    const steps = (finding?.fix ?? '').split(' && ');
    expect(steps.pop()).toBe(`zmproxyctl reload -w ${work}`);
    execFileSync('sh', ['-c', steps.join(' && ')]);
    expect(of(await runDoctor(), 'commercial-certificate')[0]?.severity).toBe('ok');
  });

  it('fails a key nobody cannot read under the certificate map, and passes after chgrp/chmod', async () => {
    chmodSync(join(work, 'conf/nginx.key'), 0o600);
    const failing = of(await runDoctor(), 'key-access');
    expect(failing.map((f) => [f.severity, f.subject])).toEqual([
      ['fail', join(work, 'conf/nginx.key')],
    ]);
    expect(failing[0]?.evidence).toContain('mode 0600');
    execFileSync('sh', ['-c', failing[0]?.fix ?? 'false']);
    expect(of(await runDoctor(), 'key-access').map((f) => f.severity)).toEqual(['ok']);
  });
});
