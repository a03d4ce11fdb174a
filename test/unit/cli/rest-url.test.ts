import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as runRestUrl } from '../../../src/cli/rest-url.js';
import { captureIo, testdir } from '../../helpers/testdir.js';

describe('zmproxy rest-url', () => {
  const ldif = `dn: cn=config,cn=zimbra
objectClass: zimbraGlobalConfig
cn: config

dn: cn=mbox1.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: mbox1.example.com
zimbraServiceHostname: mbox1.example.com
zimbraServiceEnabled: mailbox
zimbraMailMode: https
zimbraMailSSLPort: 8443

dn: dc=example,dc=com
objectClass: zimbraDomain
zimbraDomainName: example.com

dn: uid=user,ou=people,dc=example,dc=com
objectClass: zimbraAccount
uid: user
zimbraMailDeliveryAddress: user@example.com
zimbraMailHost: mbox1.example.com
`;

  it("prints the account's REST URL", async () => {
    const dir = testdir({ 'dir.ldif': ldif });
    const { io, out } = captureIo();
    expect(
      await runRestUrl(['--source', `ldif:${join(dir, 'dir.ldif')}`, 'user@example.com'], io),
    ).toBe(0);
    expect(out.stdout).toBe('https://mbox1.example.com:8443/home/user@example.com\n');
  });

  it('exits 1 for an unknown account and 2 without one', async () => {
    const dir = testdir({ 'dir.ldif': ldif });
    const { io, out } = captureIo();
    expect(
      await runRestUrl(['--source', `ldif:${join(dir, 'dir.ldif')}`, 'x@example.com'], io),
    ).toBe(1);
    expect(out.stderr).toContain('error: no account x@example.com in the directory');
    expect(await runRestUrl([], io)).toBe(2);
  });
});
