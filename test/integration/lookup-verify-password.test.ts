/**
 * `zmproxy lookup --verify-password` against real slapd: the stack's Zimbra directory (domains of
 * every zimbraAuthMech) and its second slapd as the external directory of the ldap/ad domains.
 * Route-only (the default) answers the same logins without looking at the password. Also: the
 * lookup's LDAP connection survives a slapd restart with StartTLS on without stalling.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExternalLdapAuth } from '../../src/lookup/adapters/external-ldap-auth.js';
import { createLdapLookupDirectory } from '../../src/lookup/adapters/ldap-lookup-directory.js';
import type { LdapLookupDirectory } from '../../src/lookup/adapters/ldap-lookup-directory.js';
import { createLookupService } from '../../src/lookup/adapters/lookup-server.js';
import type { LookupService } from '../../src/lookup/adapters/lookup-server.js';
import { resetDirectory, stackLdapOptions, stackValue } from '../helpers/stack.js';

const AD_PEOPLE = 'ou=people,dc=ad,dc=test';

function directoryLdif(): string {
  const domain = (name: string, attrs: string[]): string =>
    [
      `dn: dc=${name.split('.')[0] ?? ''},dc=test`,
      'objectClass: dcObject',
      'objectClass: organization',
      'objectClass: zimbraDomain',
      `dc: ${name.split('.')[0] ?? ''}`,
      `o: ${name}`,
      `zimbraDomainName: ${name}`,
      `zimbraId: ${name.charCodeAt(0).toString(16)}000000-0000-4000-8000-000000000001`,
      ...attrs,
      '',
    ].join('\n');
  const account = (
    uid: string,
    domainName: string,
    extra: string[] = [],
    status = 'active',
  ): string =>
    [
      `dn: uid=${uid},ou=people,dc=${domainName.split('.')[0] ?? ''},dc=test`,
      'objectClass: inetOrgPerson',
      'objectClass: zimbraAccount',
      `uid: ${uid}`,
      `cn: ${uid}`,
      `sn: ${uid}`,
      `zimbraId: ${uid.padEnd(8, '0').slice(0, 8)}-0000-4000-8000-000000000002`,
      `zimbraMailDeliveryAddress: ${uid}@${domainName}`,
      'zimbraMailHost: mbx1.test',
      `zimbraAccountStatus: ${status}`,
      ...extra,
      '',
    ].join('\n');
  const external = (mech: string, more: string[]): string[] => [
    `zimbraAuthMech: ${mech}`,
    `zimbraAuthLdapURL: ${stackValue('AD_LDAP_URL')}`,
    ...more,
  ];
  return [
    [
      'dn: cn=config,cn=zimbra',
      'objectClass: organizationalRole',
      'objectClass: zimbraGlobalConfig',
      'cn: config',
      'zimbraReverseProxyMailHostQuery: (|(zimbraMailDeliveryAddress=${USER})(zimbraMailAlias=${USER})(zimbraId=${USER}))',
      'zimbraReverseProxyMailHostAttribute: zimbraMailHost',
      'zimbraReverseProxyPortQuery: (&(zimbraServiceHostname=${MAILHOST})(objectClass=zimbraServer))',
      'zimbraReverseProxyImapPortAttribute: zimbraImapBindPort',
      'zimbraReverseProxyAuthWaitInterval: 1s',
      '',
    ].join('\n'),
    [
      'dn: cn=mbx1.test,cn=servers,cn=zimbra',
      'objectClass: zimbraServer',
      'cn: mbx1.test',
      'zimbraServiceHostname: mbx1.test',
      'zimbraImapBindPort: 7143',
      '',
    ].join('\n'),
    domain('z.test', ['zimbraAuthMech: zimbra']),
    domain('l.test', external('ldap', [`zimbraAuthLdapBindDn: uid=%u,${AD_PEOPLE}`])),
    domain(
      's.test',
      external('ldap', [
        'zimbraAuthLdapSearchFilter: (&(uid=%u)(objectClass=inetOrgPerson))',
        `zimbraAuthLdapSearchBase: ${AD_PEOPLE}`,
      ]),
    ),
    domain(
      'a.test',
      external('ad', [
        // ad ignores the search filter (as Zimbra): the bind DN template decides.
        'zimbraAuthLdapSearchFilter: (uid=nobody)',
        `zimbraAuthLdapBindDn: uid=%u,${AD_PEOPLE}`,
      ]),
    ),
    domain('k.test', ['zimbraAuthMech: kerberos5']),
    account('zed', 'z.test', ['userPassword: zed-pw']),
    account('zoe', 'z.test', ['userPassword: zoe-pw'], 'locked'),
    account('lou', 'l.test'),
    account('sam', 's.test'),
    account('ada', 'a.test'),
    account('kim', 'k.test'),
  ].join('\n');
}

/** Adds the external directory's people (idempotent). */
async function loadExternalPeople(): Promise<void> {
  const client = new Client({ url: stackValue('AD_LDAP_URL'), timeout: 10_000 });
  try {
    await client.bind(stackValue('AD_BIND_DN'), stackValue('AD_BIND_PASSWORD'));
    for (const uid of ['lou', 'sam', 'ada']) {
      const dn = `uid=${uid},${AD_PEOPLE}`;
      await client.del(dn).catch(() => undefined);
      await client.add(dn, {
        objectClass: ['inetOrgPerson'],
        uid,
        cn: uid,
        sn: uid,
        userPassword: `${uid}-ad`,
      });
    }
  } finally {
    await client.unbind();
  }
}

let work = '';
let ldif = '';
const logLines: string[] = [];
let directory: LdapLookupDirectory | undefined;
let verifying: LookupService | undefined;
let routeOnly: LookupService | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'zmproxy-verify-'));
  ldif = join(work, 'directory.ldif');
  writeFileSync(ldif, directoryLdif());
  await resetDirectory(ldif);
  await loadExternalPeople();
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  directory = createLdapLookupDirectory(stackLdapOptions());
  const deps = {
    directory,
    cache: undefined,
    resolver: { resolve: () => Promise.resolve('127.0.0.1') },
    logger,
    metrics: undefined,
  };
  verifying = createLookupService({}, { ...deps, passwords: createExternalLdapAuth() });
  routeOnly = createLookupService({}, deps);
});

afterAll(async () => {
  verifying?.stop();
  routeOnly?.stop();
  await directory?.close();
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

const login = (service: LookupService | undefined, user: string, password: string) =>
  service!
    .mail({
      'auth-method': 'plain',
      'auth-user': user,
      'auth-pass': password,
      'auth-protocol': 'imap',
      'auth-login-attempt': '1',
      'client-ip': '127.0.0.1',
    })
    .then((answer) => answer.headers['Auth-Status']);

describe('--verify-password against real slapd', () => {
  it.each([
    ['zimbra: a bind as the account on the Zimbra directory', 'zed@z.test', 'zed-pw'],
    ['ldap: a bind as the expanded zimbraAuthLdapBindDn', 'lou@l.test', 'lou-ad'],
    ['ldap: a search with zimbraAuthLdapSearchFilter, then a bind', 'sam@s.test', 'sam-ad'],
    ['ad: a bind as the expanded zimbraAuthLdapBindDn', 'ada@a.test', 'ada-ad'],
  ])('%s accepts the right password and refuses a wrong one', async (_how, user, password) => {
    expect(await login(verifying, user, password)).toBe('OK');
    expect(await login(verifying, user, `${password}-wrong`)).toBe('LOGIN failed');
    expect(await login(verifying, user, '')).not.toBe('OK');
  });

  it('refuses an ldap-domain user with the Zimbra directory password (there is none)', async () => {
    expect(await login(verifying, 'lou@l.test', 'zed-pw')).toBe('LOGIN failed');
  });

  it('refuses a locked account whatever the password', async () => {
    expect(await login(verifying, 'zoe@z.test', 'zoe-pw')).toBe('LOGIN failed');
  });

  it('refuses kerberos5, logging the mechanism and the flag', async () => {
    expect(await login(verifying, 'kim@k.test', 'anything')).toBe('LOGIN failed');
    const line = logLines.find((l) => l.includes('kim@k.test') && l.includes('cannot_verify'));
    expect(line).toContain('zimbraAuthMech kerberos5');
    expect(line).toContain('--verify-password');
  });

  it('routes every one of them without a password check when route-only (the default)', async () => {
    for (const user of ['zed@z.test', 'lou@l.test', 'sam@s.test', 'ada@a.test', 'kim@k.test']) {
      expect(await login(routeOnly, user, 'not-checked')).toBe('OK');
    }
    expect(await login(routeOnly, 'nobody@z.test', 'x')).toBe('LOGIN failed');
  });

  it('never logs a password', () => {
    const text = logLines.join('');
    for (const secret of ['zed-pw', 'lou-ad', 'sam-ad', 'ada-ad', 'not-checked', 'anything']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('the lookup LDAP connection with StartTLS', () => {
  it('answers at once after slapd restarts, instead of waiting out the operation timeout', async () => {
    const tlsDirectory = createLdapLookupDirectory(
      stackLdapOptions({
        startTls: true,
        caFile: stackValue('LDAP_CA_FILE'),
        operationTimeoutMs: 30_000,
      }),
    );
    const query = {
      base: 'cn=config,cn=zimbra',
      scope: 'base' as const,
      filter: '(objectClass=*)',
      attributes: ['cn'],
    };
    try {
      expect(await tlsDirectory.search(query)).toHaveLength(1);
      expect(await tlsDirectory.verifyPassword('uid=zed,ou=people,dc=z,dc=test', 'zed-pw')).toBe(
        true,
      );
      await resetDirectory(ldif); // restarts slapd on the same URL
      await new Promise((resolve) => setTimeout(resolve, 200));
      const outcomes: unknown[] = [];
      for (const run of [1, 2]) {
        const started = Date.now();
        outcomes.push(
          await tlsDirectory.search(query).then(
            (records) => records.length,
            (error: unknown) => String(error),
          ),
          await tlsDirectory
            .verifyPassword('uid=zed,ou=people,dc=z,dc=test', 'zed-pw')
            .catch((error: unknown) => String(error)),
        );
        expect(Date.now() - started, `request ${run}`).toBeLessThan(5000);
      }
      // The second round, at the latest, runs on a fresh connection.
      expect(outcomes.slice(2)).toEqual([1, true]);
    } finally {
      await tlsDirectory.close();
    }
  });
});
