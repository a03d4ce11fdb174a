import { describe, expect, it } from 'vitest';
import { computeRestUrl } from '../../../src/doctor/rest-url.js';
import type { DirectoryEntry } from '../../../src/model/snapshot.js';
import type { Attrs } from '../../helpers/builders.js';
import { domain, globalConfig, mailboxServer, snapshot } from '../../helpers/builders.js';

function account(name: string, attrs: Record<string, string[]> = {}): DirectoryEntry {
  return {
    dn: `uid=${name.split('@')[0] ?? ''},ou=people,dc=example,dc=com`,
    kind: 'account',
    attrs: { zimbraMailDeliveryAddress: [name], zimbraMailHost: ['mbox1.example.com'], ...attrs },
  };
}

function snap(global: Attrs, domainAttrs: Attrs, mbox: Attrs = {}) {
  return {
    ...snapshot({
      globalConfig: globalConfig(global),
      servers: [
        mailboxServer('mbox1.example.com', {
          zimbraMailSSLPort: '8443',
          zimbraMailPort: '8080',
          ...mbox,
        }),
      ],
      domains: [domain('example.com', domainAttrs)],
    }),
    accounts: [account('user@example.com', { zimbraMailAlias: ['alias@example.com'] })],
  };
}

describe('computeRestUrl', () => {
  it("uses the domain's public protocol, host name and port, leaving out a default port", () => {
    const result = computeRestUrl(
      snap(
        {},
        {
          zimbraPublicServiceHostname: 'mail.example.com',
          zimbraPublicServiceProtocol: 'https',
          zimbraPublicServicePort: '443',
        },
      ),
      'user@example.com',
    );
    expect(result).toMatchObject({
      ok: true,
      url: 'https://mail.example.com/home/user@example.com',
      rule: 'public',
    });
  });

  it('writes a non-default public port and defaults the protocol to http', () => {
    const result = computeRestUrl(
      snap(
        { zimbraPublicServiceHostname: 'webmail.example.com', zimbraPublicServicePort: '8080' },
        {},
      ),
      'alias@example.com',
    );
    expect(result).toMatchObject({
      ok: true,
      url: 'http://webmail.example.com:8080/home/user@example.com',
    });
  });

  it("falls back to the home server's https port, always written", () => {
    expect(computeRestUrl(snap({}, {}), 'USER@example.com')).toMatchObject({
      ok: true,
      url: 'https://mbox1.example.com:8443/home/user@example.com',
      rule: 'server',
    });
  });

  it('uses the plain port of a home server in http mode', () => {
    expect(
      computeRestUrl(snap({}, {}, { zimbraMailMode: 'http' }), 'user@example.com'),
    ).toMatchObject({
      url: 'http://mbox1.example.com:8080/home/user@example.com',
    });
  });

  it('says when the account is unknown', () => {
    expect(computeRestUrl(snap({}, {}), 'nobody@example.com')).toMatchObject({
      ok: false,
      message: 'no account nobody@example.com in the directory',
    });
  });
});
