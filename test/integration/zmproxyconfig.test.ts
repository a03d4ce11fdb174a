/**
 * zmproxyconfig against the real slapd: every enable/disable case (docs/zimbra-notes.md
 * "zmproxyconfig": store+proxy host A, store host B, proxy host C) writes the same directory state
 * over LDAP as on an LDIF file, and a refused run writes nothing.
 */
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/zmproxyconfig.js';
import type { AttributeMap, DirectorySnapshot } from '../../src/model/snapshot.js';
import { createLdapDirectory } from '../../src/sources/ldap/index.js';
import { createLdifStore } from '../../src/sources/ldif-store/index.js';
import {
  loadLdif,
  resetDirectory,
  stackLdapArgs,
  stackLdapOptions,
  stackValue,
} from '../helpers/stack.js';
import { runCli, testdir } from '../helpers/testdir.js';

const LDIF = `dn: cn=config,cn=zimbra
objectClass: organizationalRole
objectClass: zimbraGlobalConfig
cn: config
zimbraMailMode: https
zimbraReverseProxySSLToUpstreamEnabled: TRUE
zimbraReverseProxyHttpEnabled: TRUE
zimbraReverseProxyMailEnabled: TRUE

dn: cn=a.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: a.example.com
zimbraServiceHostname: a.example.com
zimbraServiceInstalled: mailbox
zimbraServiceInstalled: proxy
zimbraServiceEnabled: mailbox
zimbraServiceEnabled: proxy

dn: cn=b.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: b.example.com
zimbraServiceHostname: b.example.com
zimbraServiceInstalled: mailbox
zimbraServiceEnabled: mailbox

dn: cn=c.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: c.example.com
zimbraServiceHostname: c.example.com
zimbraServiceInstalled: proxy
zimbraServiceEnabled: memcached
`;

let dir: string;

beforeEach(async () => {
  dir = testdir({ 'dir.ldif': LDIF });
  await resetDirectory();
  await loadLdif(join(dir, 'dir.ldif'));
});

function config(source: string[], args: string) {
  return runCli(run, [...source, ...args.split(' '), '-r']);
}

function ldapSource(): string[] {
  return stackLdapArgs(dir);
}

/** Servers and global config with sorted values and no operational noise, to compare. */
function comparable(snapshot: DirectorySnapshot) {
  const sorted = (attrs: AttributeMap): Record<string, string[]> =>
    Object.fromEntries(
      Object.entries(attrs)
        .filter(([name]) => name !== 'objectClass')
        .map(([name, values]): [string, string[]] => [name, [...values].sort()])
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  return {
    globalConfig: sorted(snapshot.globalConfig.attrs),
    servers: snapshot.servers.map((server) => sorted(server.attrs)),
  };
}

async function loadLdap(): Promise<DirectorySnapshot> {
  const store = createLdapDirectory(stackLdapOptions());
  try {
    return await store.load();
  } finally {
    await store.close();
  }
}

const CASES = [
  '-e -m -H a.example.com',
  '-e -w -C -n 7000:9000 -H a.example.com',
  '-e -m -w -u -x redirect -H a.example.com',
  '-d -m -s -H a.example.com',
  '-d -m -w -H a.example.com',
  '-e -m -w -c -H b.example.com',
  '-d -m -w -s -t -H b.example.com',
  '-e -m -w -H c.example.com',
  '-d -w -H c.example.com',
  '-f -H a.example.com',
  '-f -e -w -U -x https -H c.example.com',
];

describe('zmproxyconfig over LDAP', () => {
  it.each(CASES)('%s writes what it writes to an LDIF file', async (args) => {
    const file = join(dir, 'dir.ldif');
    const onFile = await config(['--source', `ldif:${file}`], args);
    const onLdap = await config(ldapSource(), args);
    expect(onLdap).toEqual({
      ...onFile,
      stdout: onFile.stdout.replace(`ldif:${file}`, stackValue('LDAP_URL')),
    });
    expect(onLdap.code).toBe(0);
    expect(comparable(await loadLdap())).toEqual(comparable(await createLdifStore(file).load()));
  });

  it('a refused run (invalid -x) writes nothing', async () => {
    const before = await loadLdap();
    const result = await config(ldapSource(), '-e -w -u -x fancy -H a.example.com');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'zimbraReverseProxyMailMode on server a.example.com: must be one of',
    );
    expect(await loadLdap()).toEqual(before);
  });

  it('--dry-run prints the commands and writes nothing', async () => {
    const before = await loadLdap();
    const result = await config(ldapSource(), '--dry-run -e -m -H b.example.com');
    expect(result.stdout).toMatch(/^zmprov -l ms b\.example\.com zimbraImapBindPort 7143 /);
    expect(await loadLdap()).toEqual(before);
  });
});
