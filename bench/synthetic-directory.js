// Writes a synthetic Zimbra directory as LDIF: N mailbox servers, one proxy with memcached, and
// M domains with two virtual host names and a certificate each. Used by the benchmarks.
import { readFileSync } from 'node:fs';

const EXAMPLE = new URL('../fixtures/example/directory.ldif', import.meta.url);

/** The global config entry and the certificate of the bundled example, reused as they are. */
function exampleParts() {
  const text = readFileSync(EXAMPLE, 'utf8');
  const records = text.split(/\n\n+/);
  const globalConfig = records.find((r) => r.includes('objectClass: zimbraGlobalConfig'));
  const domain = records.find((r) => r.includes('zimbraDomainName: example.com'));
  const cert = domain.match(/^zimbraSSLCertificate::.*(\n .*)*/m)[0];
  const key = domain.match(/^zimbraSSLPrivateKey::.*(\n .*)*/m)[0];
  return { globalConfig, cert, key };
}

/** The LDIF text and a hosts file for the directory. */
export function syntheticDirectory({ servers, domains }) {
  const { globalConfig, cert, key } = exampleParts();
  const out = [globalConfig];
  const hosts = [];
  for (let i = 1; i <= servers; i++) {
    const name = `mbox${i}.bench.test`;
    out.push(
      [
        `dn: cn=${name},cn=servers,cn=zimbra`,
        'objectClass: zimbraServer',
        `cn: ${name}`,
        `zimbraId: 00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        `zimbraServiceHostname: ${name}`,
        'zimbraServiceEnabled: mailbox',
        'zimbraServiceEnabled: service',
        'zimbraServiceEnabled: zimbra',
        'zimbraServiceEnabled: zimbraAdmin',
        'zimbraServerVersion: 10.1.0_GA_4633',
        'zimbraServerVersionMajor: 10',
        'zimbraServerVersionMinor: 1',
        'zimbraMailMode: https',
      ].join('\n'),
    );
    hosts.push(`10.0.${Math.floor(i / 250)}.${(i % 250) + 1} ${name}`);
  }
  out.push(
    [
      'dn: cn=proxy.bench.test,cn=servers,cn=zimbra',
      'objectClass: zimbraServer',
      'cn: proxy.bench.test',
      'zimbraId: 00000000-0000-4000-9000-000000000001',
      'zimbraServiceHostname: proxy.bench.test',
      'zimbraServiceEnabled: proxy',
      'zimbraServiceEnabled: memcached',
      'zimbraReverseProxyLookupTarget: FALSE',
    ].join('\n'),
  );
  hosts.push('10.1.0.1 proxy.bench.test');
  for (let d = 1; d <= domains; d++) {
    const name = `d${d}.bench.test`;
    out.push(
      [
        `dn: dc=d${d},dc=bench,dc=test`,
        'objectClass: dcObject',
        'objectClass: zimbraDomain',
        `dc: d${d}`,
        `zimbraDomainName: ${name}`,
        `zimbraId: 00000000-0000-4000-a000-${String(d).padStart(12, '0')}`,
        `zimbraVirtualHostname: mail.${name}`,
        `zimbraVirtualHostname: webmail.${name}`,
        cert,
        key,
      ].join('\n'),
    );
  }
  return { ldif: `${out.join('\n\n')}\n`, hosts: `${hosts.join('\n')}\n` };
}
