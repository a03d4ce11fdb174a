/**
 * zmproxy doctor against the real stack: the directory in slapd, reachability probed against the
 * stack's dovecot, memcached and nginx (a mailbox server pointed at a closed loopback port stands
 * for a stopped dovecot: the stack cannot restart one), an encrypted key made with openssl, and
 * an access log with 502s in the work directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/doctor.js';
import type { DoctorReport } from '../../src/doctor/finding.js';
import { writeSelfSignedCertificate } from '../helpers/certificates.js';
import { resetDirectory, stackLdapArgs, stackValue } from '../helpers/stack.js';
import { captureIo } from '../helpers/testdir.js';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function directoryLdif(closed: number): string {
  const http = stackValue('NGINX_HTTP_PORT');
  return `dn: cn=zimbra
objectClass: organizationalRole
cn: zimbra

dn: cn=config,cn=zimbra
objectClass: organizationalRole
objectClass: zimbraGlobalConfig
cn: config
zimbraIPMode: ipv4
zimbraMailMode: https
zimbraReverseProxyLookupTarget: FALSE
zimbraReverseProxySSLToUpstreamEnabled: TRUE
zimbraReverseProxyHttpEnabled: TRUE
zimbraMailTrustedIP: 127.0.0.1
zimbraMailProxyReconnectTimeout: 10
zimbraMailProxyMaxFails: 1

dn: cn=servers,cn=zimbra
objectClass: organizationalRole
cn: servers

dn: cn=proxy1.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: proxy1.example.com
zimbraServiceHostname: 127.0.0.1
zimbraServiceEnabled: proxy
zimbraServiceEnabled: memcached
zimbraMemcachedBindPort: ${stackValue('MEMCACHED_PORT')}

dn: cn=mbox1.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: mbox1.example.com
zimbraServiceHostname: 127.0.0.1
zimbraServiceEnabled: mailbox
zimbraServiceEnabled: service
zimbraReverseProxyLookupTarget: TRUE
zimbraServerVersion: 10.1.0_GA_4633
zimbraServerVersionMajor: 10
zimbraServerVersionMinor: 1
zimbraExtensionBindPort: ${http}
zimbraMailSSLPort: ${http}
zimbraImapBindPort: ${stackValue('DOVECOT_IMAP_PORT_1')}
zimbraPop3BindPort: ${stackValue('DOVECOT_POP3_PORT_1')}
zimbraImapSSLBindPort: ${stackValue('DOVECOT_IMAPS_PORT_1')}
zimbraPop3SSLBindPort: ${stackValue('DOVECOT_POP3S_PORT_1')}

dn: cn=mbox2.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: mbox2.example.com
zimbraServiceHostname: 127.0.0.1
zimbraServiceEnabled: mailbox
zimbraServiceEnabled: service
zimbraReverseProxyLookupTarget: TRUE
zimbraServerVersion: 10.1.0_GA_4633
zimbraServerVersionMajor: 10
zimbraServerVersionMinor: 1
zimbraExtensionBindPort: ${http}
zimbraMailSSLPort: ${http}
zimbraImapBindPort: ${stackValue('DOVECOT_IMAP_PORT_2')}
zimbraPop3BindPort: ${stackValue('DOVECOT_POP3_PORT_2')}
zimbraImapSSLBindPort: ${closed}
zimbraPop3SSLBindPort: ${stackValue('DOVECOT_POP3S_PORT_2')}
`;
}

const ACCESS_LOG = [
  '127.0.0.1:50001 - - [10/Mar/2025:10:00:01 +0000]  "GET https://mail.example.com/ HTTP/1.1" 502 157 "-" "curl/7.88" "127.0.0.1:8443" "127.0.0.1:443"',
  '127.0.0.1:50002 - - [10/Mar/2025:10:00:02 +0000]  "GET https://mail.example.com/ HTTP/1.1" 502 157 "-" "curl/7.88" "127.0.0.1:8443" "127.0.0.1:443"',
  '127.0.0.1:50003 - - [10/Mar/2025:10:00:03 +0000]  "GET https://mail.example.com/ HTTP/1.1" 200 612 "-" "curl/7.88" "127.0.0.1:8443" "127.0.0.1:443"',
].join('\n');

describe('zmproxy doctor on the stack', () => {
  let report: DoctorReport;
  let exitCode: number;
  let human: string;
  let stderr: string;
  let cleanup = (): void => undefined;

  afterAll(() => cleanup());

  beforeAll(async () => {
    const closed = await closedPort();
    // testdir() cleans up per test; these files live for the whole describe block.
    const dir = mkdtempSync(join(tmpdir(), 'zmproxy-doctor-'));
    cleanup = () => rmSync(dir, { recursive: true, force: true });
    for (const [path, text] of Object.entries({
      'directory.ldif': directoryLdif(closed),
      'zimbra/log/nginx.access.log': `${ACCESS_LOG}\n`,
    })) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    await resetDirectory(join(dir, 'directory.ldif'));
    const workdir = join(dir, 'zimbra');
    mkdirSync(join(workdir, 'conf'), { recursive: true });
    const crt = join(workdir, 'conf/nginx.crt');
    const plainKey = join(dir, 'plain.key');
    writeSelfSignedCertificate(crt, plainKey, 'proxy1.example.com');
    // What `openssl genrsa -aes256` users end up with: nginx then asks for a pass phrase.
    execFileSync('openssl', [
      'pkey',
      '-in',
      plainKey,
      '-aes256',
      '-passout',
      'pass:secret',
      '-out',
      join(workdir, 'conf/nginx.key'),
    ]);
    writeFileSync(join(dir, 'localconfig.xml'), '<localconfig></localconfig>\n');
    const args = [
      ...stackLdapArgs(dir),
      '--localconfig',
      join(dir, 'localconfig.xml'),
      '--server',
      'proxy1.example.com',
      '-w',
      workdir,
      '--timeout',
      '2000',
    ];
    const json = captureIo();
    exitCode = await run([...args, '--json'], json.io);
    stderr = json.out.stderr;
    report = JSON.parse(json.out.stdout) as DoctorReport;
    const text = captureIo();
    await run(args, text.io);
    human = text.out.stdout;
  });

  it('reports the server whose IMAP port is closed as unreachable, and exits 1', () => {
    expect(stderr).toBe('');
    const failure = report.findings.find(
      (f) => f.check === 'reachability' && f.severity === 'fail',
    );
    expect(failure?.subject).toBe('server mbox2.example.com');
    expect(failure?.evidence).toMatch(/\d+ \(IMAP upstream\) ECONNREFUSED after \d+ ms/);
    expect(failure?.explanation).toMatch(/\(1\) a closed port/);
    expect(exitCode).toBe(1);
  });

  it('reaches the running dovecot, memcached and nginx ports with timings', () => {
    const ok = report.findings.filter((f) => f.check === 'reachability' && f.severity === 'ok');
    const mbox1 = ok.find((f) => f.subject === 'server mbox1.example.com')?.evidence ?? '';
    // The stock set's TLS chain reaches the mailbox servers' IMAPS/POP3S ports.
    expect(mbox1).toContain(`${stackValue('DOVECOT_IMAPS_PORT_1')} (IMAP upstream) connected in`);
    expect(ok.find((f) => f.subject === 'server proxy1.example.com')?.evidence).toContain(
      '(memcached) connected in',
    );
  });

  it('detects the encrypted key', () => {
    const key = report.findings.find((f) => f.check === 'certificates' && f.severity === 'fail');
    expect(key?.evidence).toContain('nginx.key is encrypted with a pass phrase');
    expect(key?.fix).toContain('openssl pkey -in');
  });

  it('explains the 502s of the access log and names the upstream', () => {
    const bad = report.findings.find((f) => f.subject === 'HTTP 502 Bad Gateway');
    expect(bad?.evidence).toMatch(
      /^2 in .*nginx\.access\.log; upstreams failing most: 127\.0\.0\.1:8443 \(2\)/,
    );
    expect(bad?.explanation).toContain('mailboxd is down or restarting');
    expect(report.findings.find((f) => f.check === 'upstream-timeouts')?.fix).toContain(
      'zmprov mcf zimbraMailProxyReconnectTimeout 0 zimbraMailProxyMaxFails 0',
    );
  });

  it('prints the same findings for people, grouped', () => {
    expect(human).toContain(
      'Reachability from this proxy (reachability)\n  FAIL  server mbox2.example.com',
    );
    expect(human).toContain('FAIL  default:');
  });
});
