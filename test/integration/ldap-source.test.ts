/**
 * The LDAP source against the real slapd: failover, errors with hints, ldaps and StartTLS with
 * the stack's self-signed certificate, and modifications.
 */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProxyConfError } from '../../src/errors.js';
import { firstValueOf, valuesOf } from '../../src/model/snapshot.js';
import type { DirectoryStore } from '../../src/ports.js';
import { createInputFingerprint } from '../../src/reload/input-probe.js';
import { createLdapDirectory } from '../../src/sources/ldap/index.js';
import { resetDirectory, stackLdapOptions, stackPort, stackValue } from '../helpers/stack.js';

const EXAMPLE = new URL('../../fixtures/example/directory.ldif', import.meta.url).pathname;

const opened: DirectoryStore[] = [];
function open(...args: Parameters<typeof createLdapDirectory>): DirectoryStore {
  const store = createLdapDirectory(...args);
  opened.push(store);
  return store;
}

const servers: Server[] = [];
const sockets: Socket[] = [];
/** A loopback port nothing listens on (bound, then closed). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `ldap://127.0.0.1:${port}`;
}
/** A loopback port that accepts connections and never answers. */
async function silentUrl(): Promise<string> {
  const server = createServer((socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ldap://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Listens on `host` and forwards every connection to the stack's `targetPort` on 127.0.0.1. */
async function forwarder(host: string, targetPort: number): Promise<number> {
  const server = createServer((client) => {
    sockets.push(client);
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.push(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * A tiny LDAP server that answers the StartTLS extended request with protocolError (2), as a
 * slapd without TLS configured does.
 */
async function refusingStartTls(): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.once('data', (request) => {
      // ExtendedResponse: SEQUENCE { messageID (the request's one-byte ID), [APPLICATION 24]
      // { resultCode 2, matchedDN "", diagnosticMessage "" } }
      const id = request[4] ?? 1;
      socket.write(
        Buffer.from([
          0x30,
          0x0c,
          0x02,
          0x01,
          id,
          0x78,
          0x07,
          0x0a,
          0x01,
          0x02,
          0x04,
          0x00,
          0x04,
          0x00,
        ]),
      );
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function failure(promise: Promise<unknown>): Promise<ProxyConfError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProxyConfError);
  return error as ProxyConfError;
}

beforeAll(async () => {
  await resetDirectory(EXAMPLE);
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

describe('createLdapDirectory', () => {
  it('reads servers and domains of the Zimbra DIT', async () => {
    const snapshot = await open(stackLdapOptions()).load();
    expect(snapshot.servers.map((server) => firstValueOf(server, 'cn'))).toEqual([
      'mbox1.example.com',
      'mbox2.example.com',
      'mta1.example.com',
      'proxy1.example.com',
    ]);
    expect(snapshot.domains.map((domain) => firstValueOf(domain, 'zimbraDomainName'))).toEqual([
      'example.com',
      'example.org',
    ]);
    expect(firstValueOf(snapshot.globalConfig, 'zimbraReverseProxyLookupTarget')).toBe('TRUE');
  });

  it('names the localconfig keys and flags when the password is wrong', async () => {
    const error = await failure(open(stackLdapOptions({ bindPassword: 'wrong' })).load());
    expect(error.code).toBe('E_LDAP_AUTH');
    expect(error.message).toContain(`bind as "${stackValue('LDAP_BIND_DN')}"`);
    expect(error.message).toContain('LDAP result code 49');
    for (const name of [
      'zimbra_ldap_userdn',
      'zimbra_ldap_password',
      '--bind-dn',
      '--bind-password-file',
    ]) {
      expect(error.hint).toContain(name);
    }
    expect(error.cause).toBeDefined();
  });

  it('fails over from a dead URL and a silent one to the next', async () => {
    const urls = [await deadUrl(), await silentUrl(), stackValue('LDAP_URL')];
    const store = open(stackLdapOptions({ urls, connectTimeoutMs: 500 }));
    const started = Date.now();
    expect((await store.load()).servers).toHaveLength(4);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('lists every URL tried with its error when none answers', async () => {
    const dead = await deadUrl();
    const silent = await silentUrl();
    const error = await failure(
      open(stackLdapOptions({ urls: [dead, silent], connectTimeoutMs: 300 })).load(),
    );
    expect(error.code).toBe('E_LDAP_CONNECT');
    expect(error.message).toContain('tried 2 URLs');
    expect(error.message).toContain(`${dead}: connection refused (ECONNREFUSED)`);
    expect(error.message).toMatch(new RegExp(`${silent}: .*(timeout|within 300 ms)`, 'i'));
    expect(error.hint).toContain('ldap_url');
    expect(error.hint).toContain('--source');
  });

  it('reads over ldaps:// with the CA file', async () => {
    const store = open(
      stackLdapOptions({ urls: [stackValue('LDAPS_URL')], caFile: stackValue('LDAP_CA_FILE') }),
    );
    expect((await store.load()).servers).toHaveLength(4);
  });

  it('refuses an ldaps:// certificate it cannot verify, and accepts it when told not to verify', async () => {
    const url = stackValue('LDAPS_URL');
    const error = await failure(open(stackLdapOptions({ urls: [url] })).load());
    expect(error.code).toBe('E_LDAP_CONNECT');
    expect(error.message).toMatch(/certificate/i);
    const lax = open(stackLdapOptions({ urls: [url], verifyCertificate: false }));
    expect((await lax.load()).servers).toHaveLength(4);
  });

  it('upgrades ldap:// with StartTLS', async () => {
    const store = open(stackLdapOptions({ startTls: true, caFile: stackValue('LDAP_CA_FILE') }));
    expect((await store.load()).domains).toHaveLength(2);
  });

  it('verifies the StartTLS and ldaps certificate against the host in the URL', async () => {
    // The stack's certificate names 127.0.0.1 and localhost; 127.0.0.5 forwards to the same slapd.
    const caFile = stackValue('LDAP_CA_FILE');
    const impostorPlain = await forwarder('127.0.0.5', stackPort('LDAP_PORT'));
    const startTls = await failure(
      open(
        stackLdapOptions({ urls: [`ldap://127.0.0.5:${impostorPlain}`], startTls: true, caFile }),
      ).load(),
    );
    expect(startTls.code).toBe('E_LDAP_CONNECT');
    expect(startTls.message).toMatch(
      /TLS.*127\.0\.0\.5.*not in the certificate|certificate.*127\.0\.0\.5/i,
    );
    expect(startTls.hint).toContain('zmproxy_ldap_ca_file');
    expect(startTls.hint).not.toContain('zimbra_ldap_password');

    const impostorTls = await forwarder('127.0.0.5', stackPort('LDAPS_PORT'));
    const ldaps = await failure(
      open(stackLdapOptions({ urls: [`ldaps://127.0.0.5:${impostorTls}`], caFile })).load(),
    );
    expect(ldaps.message).toMatch(/127\.0\.0\.5/);

    const named = open(
      stackLdapOptions({
        urls: [`ldap://localhost:${stackPort('LDAP_PORT')}`],
        startTls: true,
        caFile,
      }),
    );
    expect((await named.load()).servers).toHaveLength(4);
    const byAddress = open(stackLdapOptions({ startTls: true, caFile }));
    expect((await byAddress.load()).servers).toHaveLength(4);
  });

  it("verifies the certificate in --watch's change probe too", async () => {
    const caFile = stackValue('LDAP_CA_FILE');
    const impostor = await forwarder('127.0.0.5', stackPort('LDAP_PORT'));
    const probe = (url: string) =>
      createInputFingerprint({
        files: [],
        dirs: [],
        ldap: stackLdapOptions({ urls: [url], startTls: true, caFile }),
      })();
    const error = await failure(probe(`ldap://127.0.0.5:${impostor}`));
    expect(error.message).toMatch(/does not name 127\.0\.0\.5/);
    expect(await probe(stackValue('LDAP_URL'))).toMatch(/^[0-9a-f]{16}$/);
  });

  it('says that the server refused StartTLS, not that the password is wrong', async () => {
    const url = `ldap://127.0.0.1:${await refusingStartTls()}`;
    const error = await failure(open(stackLdapOptions({ urls: [url], startTls: true })).load());
    expect(error.message).toMatch(/StartTLS/);
    expect(error.message).not.toMatch(/bind as/);
    expect(error.hint).toContain('ldap_starttls_supported');
  });

  it('applies replace, add and delete modifications', async () => {
    const store = open(stackLdapOptions());
    const dn = 'cn=mbox1.example.com,cn=servers,cn=zimbra';
    await store.modify([
      {
        dn,
        changes: [
          { operation: 'replace', attribute: 'zimbraMailPort', values: ['9080'] },
          { operation: 'add', attribute: 'zimbraServiceEnabled', values: ['imapproxy'] },
          { operation: 'delete', attribute: 'zimbraServiceEnabled', values: ['service'] },
        ],
      },
      {
        dn: 'cn=config,cn=zimbra',
        changes: [
          { operation: 'delete', attribute: 'zimbraReverseProxySSLProtocols', values: [] },
          { operation: 'replace', attribute: 'zimbraReverseProxyLogLevel', values: [] },
        ],
      },
    ]);
    const snapshot = await store.load();
    const server = snapshot.servers.find((entry) => entry.dn === dn);
    expect(server && firstValueOf(server, 'zimbraMailPort')).toBe('9080');
    expect(server && valuesOf(server, 'zimbraServiceEnabled')).toContain('imapproxy');
    expect(server && valuesOf(server, 'zimbraServiceEnabled')).not.toContain('service');
    expect(valuesOf(snapshot.globalConfig, 'zimbraReverseProxySSLProtocols')).toBeUndefined();
    expect(valuesOf(snapshot.globalConfig, 'zimbraReverseProxyLogLevel')).toBeUndefined();
    await resetDirectory(EXAMPLE);
  });

  it('says which entry does not exist', async () => {
    const error = await failure(
      open(stackLdapOptions()).modify([
        {
          dn: 'cn=nope.example.com,cn=servers,cn=zimbra',
          changes: [{ operation: 'replace', attribute: 'zimbraMailPort', values: ['1'] }],
        },
      ]),
    );
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain('cn=nope.example.com,cn=servers,cn=zimbra');
  });
});
