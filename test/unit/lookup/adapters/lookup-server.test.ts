import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LOOKUP_TLS_CIPHERS,
  createLookupHttpServer,
  createLookupService,
} from '../../../../src/lookup/adapters/lookup-server.js';
import type { LookupServiceOptions } from '../../../../src/lookup/adapters/lookup-server.js';
import type { DirectoryQuery, DirectoryRecord } from '../../../../src/lookup/ports.js';
import { writeSelfSignedCertificate } from '../../../helpers/certificates.js';
import { testdir } from '../../../helpers/testdir.js';

const CONFIG: DirectoryRecord = {
  dn: 'cn=config,cn=zimbra',
  attrs: { zimbraDefaultDomainName: ['d.test'], zimbraMailPort: ['8080'] },
};
const ALICE: DirectoryRecord = {
  dn: 'uid=alice,ou=people,dc=d,dc=test',
  attrs: { zimbraMailDeliveryAddress: ['alice@d.test'], zimbraMailHost: ['mbx1.test'] },
};
const DOMAIN = {
  dn: 'dc=d,dc=test',
  attrs: { zimbraDomainName: ['d.test'], zimbraDomainAllowedIPs: ['127.0.0.5'] } as Record<
    string,
    string[]
  >,
};

const directory = {
  search(query: DirectoryQuery): Promise<readonly DirectoryRecord[]> {
    if (query.scope === 'base') return Promise.resolve([CONFIG]);
    if (query.filter.includes('alice@d.test')) return Promise.resolve([ALICE]);
    if (query.filter.includes('zimbraDomainName=d.test'))
      return Promise.resolve([{ dn: DOMAIN.dn, attrs: { ...DOMAIN.attrs } }]);
    if (query.filter.includes('mbx1.test')) return Promise.resolve([{ dn: 'cn=mbx1', attrs: {} }]);
    return Promise.resolve([]);
  },
  verifyPassword: () => Promise.resolve(false),
};

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

let lastService: ReturnType<typeof createLookupService> | undefined;

async function start(
  options: LookupServiceOptions,
  tls?: { cert: Buffer; key: Buffer },
): Promise<number> {
  const logger = pino({ level: 'silent' });
  const metricsText = () => Promise.resolve({ contentType: 'text/plain', body: 'm 1\n' });
  const service = createLookupService(options, {
    directory,
    cache: undefined,
    resolver: { resolve: () => Promise.resolve('127.0.0.1') },
    logger,
    metrics: undefined,
  });
  lastService = service;
  const server = createLookupHttpServer(service, { logger, metricsText }, tls);
  servers.push(server);
  server.on('close', () => service.stop());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the lookup TLS listener', () => {
  const tlsPair = () => {
    const dir = testdir({});
    writeSelfSignedCertificate(join(dir, 'c.pem'), join(dir, 'k.pem'));
    return { cert: readFileSync(join(dir, 'c.pem')), key: readFileSync(join(dir, 'k.pem')) };
  };
  const handshake = (port: number, options: { ciphers: string; maxVersion?: 'TLSv1.2' }) =>
    new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
      socket.once('secureConnect', () => {
        resolve(socket.getCipher().name);
        socket.destroy();
      });
      socket.once('error', () => resolve('refused'));
    });

  it('offers only forward-secret AEAD suites', async () => {
    const port = await start({}, tlsPair());
    for (const weak of [
      'AES128-GCM-SHA256',
      'ECDHE-ECDSA-AES128-SHA',
      'AES128-SHA',
      'ECDHE-ECDSA-AES256-SHA384',
    ]) {
      expect(await handshake(port, { ciphers: weak, maxVersion: 'TLSv1.2' })).toBe('refused');
    }
    expect(
      await handshake(port, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' }),
    ).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
    expect(await handshake(port, { ciphers: LOOKUP_TLS_CIPHERS })).toMatch(/^TLS_/);
  });

  it('lists only ECDHE or TLS 1.3 suites with GCM or ChaCha20-Poly1305', () => {
    for (const suite of LOOKUP_TLS_CIPHERS.split(':')) {
      expect(suite).toMatch(/^(TLS_|ECDHE-)/);
      expect(suite).toMatch(/GCM|CHACHA20_POLY1305|CHACHA20-POLY1305/);
    }
  });
});

describe('the status endpoints', () => {
  it('answer without the key unless statusNeedsKey (off loopback)', async () => {
    const open = await start({ sharedKey: 'k' });
    expect(await get(open, '/metrics')).toBe(200);
    expect(await get(open, '/healthz')).toBe(200);
    const guarded = await start({ sharedKey: 'k', statusNeedsKey: true });
    expect(await get(guarded, '/metrics')).toBe(403);
    expect(await get(guarded, '/healthz')).toBe(403);
    expect(await get(guarded, '/metrics', { 'X-Zmproxy-Key': 'k' })).toBe(200);
    expect(await get(guarded, '/healthz', { 'X-Zmproxy-Key': 'k' })).toBe(200);
  });
});

describe('web route answers', () => {
  const route = (port: number, clientIp: string) =>
    get(port, '/service/extension/zmproxy-route', {
      'X-Original-URI': '/home/alice/inbox',
      Host: 'mail.d.test',
      'Client-IP': clientIp,
      'Auth-Protocol': 'http',
      'X-Zmproxy-Key': 'k',
    });

  it('refuse a client outside zimbraDomainAllowedIPs with 403, route one inside', async () => {
    const port = await start({ sharedKey: 'k' });
    expect(await route(port, '127.0.0.5')).toBe(200);
    expect(await route(port, '127.0.0.6')).toBe(403);
  });

  it('keep domain data in process until forget() (SIGHUP), then read it again', async () => {
    const port = await start({ sharedKey: 'k' });
    expect(await route(port, '127.0.0.6')).toBe(403);
    DOMAIN.attrs['zimbraDomainAllowedIPs'] = ['127.0.0.6'];
    try {
      expect(await route(port, '127.0.0.6')).toBe(403);
      await lastService!.forget();
      expect(await route(port, '127.0.0.6')).toBe(200);
    } finally {
      DOMAIN.attrs['zimbraDomainAllowedIPs'] = ['127.0.0.5'];
    }
  });

  it('answer a wrong shared key with 401, which nginx turns into "no route"', async () => {
    const port = await start({ sharedKey: 'k' });
    expect(await get(port, '/service/extension/zmproxy-route', { 'X-Zmproxy-Key': 'x' })).toBe(401);
  });
});
