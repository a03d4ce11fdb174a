/**
 * The stock mail TLS chain end to end (docs/mail-tls.md) with real parts: nginx rendered from
 * our stock templates with zimbraReverseProxySSLToUpstreamEnabled and zimbraReverseProxySNIEnabled
 * TRUE (Zimbra 10's hidden defaults), the lookup service in this process, and the stack's two
 * dovecot instances as mailbox servers reached only on their TLS-only IMAPS/POP3S ports. Clients
 * of two domains ask for their names by SNI and must get their domains' certificates; the
 * mailbox servers' logs must show TLS logins; the client address must survive the PROXY
 * protocol hop; a mailbox server whose certificate nginx does not trust must fail cleanly.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLookup } from '../../src/cli/lookup.js';
import { upstreamTlsAddress } from '../../src/model/mail-tls-chain.js';
import { writeSelfSignedCertificate } from '../helpers/certificates.js';
import { resetDirectory, stackValue } from '../helpers/stack.js';
import { freePorts, waitForPort } from '../helpers/ports.js';
import * as mailStack from '../helpers/mail-stack.js';
import { connect as netConnect } from 'node:net';

const SHARED_KEY = 'mail-tls-shared-key';
const MBX1 = 'dovecot1.stack.test';
const MBX2 = 'dovecot2.stack.test';
/** The address the clients connect from: not 127.0.0.1, so that a lost client address shows. */
const CLIENT_IP = '127.0.0.77';

interface Ports {
  authHttp: number;
  imap: number;
  pop3: number;
  imaps: number;
  pop3s: number;
}

function base64Of(path: string): string {
  return readFileSync(path).toString('base64');
}

function directoryLdif(ports: Ports, certs: Record<'a' | 'b', { crt: string; key: string }>) {
  const mailbox = (name: string, i: 1 | 2) =>
    mailStack.serverLdif(name, String(i), [
      'zimbraServiceEnabled: mailbox',
      ...(i === 1 ? ['zimbraServiceEnabled: memcached'] : []),
      'zimbraReverseProxyLookupTarget: TRUE',
      'zimbraMailMode: https',
      `zimbraImapBindPort: ${stackValue(`DOVECOT_IMAP_PORT_${i}`)}`,
      `zimbraPop3BindPort: ${stackValue(`DOVECOT_POP3_PORT_${i}`)}`,
      `zimbraImapSSLBindPort: ${stackValue(`DOVECOT_IMAPS_PORT_${i}`)}`,
      `zimbraPop3SSLBindPort: ${stackValue(`DOVECOT_POP3S_PORT_${i}`)}`,
    ]);
  const domain = (name: 'a' | 'b') =>
    mailStack.domainLdif(`${name}.test`, [
      `zimbraId: d000000${name === 'a' ? 1 : 2}-0000-4000-8000-000000000001`,
      `zimbraVirtualHostname: mail.${name}.test`,
      `zimbraSSLCertificate:: ${base64Of(certs[name].crt)}`,
      `zimbraSSLPrivateKey:: ${base64Of(certs[name].key)}`,
    ]);
  const account = (uid: string, domainName: 'a' | 'b', host: string) =>
    mailStack.accountLdif({
      uid,
      domainDn: `dc=${domainName},dc=test`,
      mailDomain: `${domainName}.test`,
      host,
      idDigit: '2',
    });
  return [
    mailStack.globalConfigLdif('a.test', [
      'zimbraReverseProxyImapSSLPortAttribute: zimbraImapSSLBindPort',
      'zimbraReverseProxyPop3SSLPortAttribute: zimbraPop3SSLBindPort',
      'zimbraReverseProxyUserLoginLimit: 0',
      'zimbraReverseProxyIPLoginLimit: 0',
      'zimbraReverseProxySendImapId: FALSE',
      'zimbraReverseProxySendPop3Xoip: FALSE',
    ]),
    mailStack.serverLdif('proxy.test', '5', [
      'zimbraServiceEnabled: proxy',
      'zimbraReverseProxyMailEnabled: TRUE',
      'zimbraReverseProxyHttpEnabled: FALSE',
      'zimbraReverseProxySSLToUpstreamEnabled: TRUE',
      'zimbraReverseProxySNIEnabled: TRUE',
      'zimbraReverseProxyGenConfigPerVirtualHostname: TRUE',
      'zimbraReverseProxyImapStartTlsMode: on',
      'zimbraReverseProxyPop3StartTlsMode: on',
      `zimbraImapProxyBindPort: ${ports.imap}`,
      `zimbraPop3ProxyBindPort: ${ports.pop3}`,
      `zimbraImapSSLProxyBindPort: ${ports.imaps}`,
      `zimbraPop3SSLProxyBindPort: ${ports.pop3s}`,
    ]),
    mailbox(MBX1, 1),
    mailbox(MBX2, 2),
    domain('a'),
    domain('b'),
    account('alice', 'a', MBX1),
    account('bob', 'b', MBX1),
    // On the mailbox server whose certificate nginx is not told to trust.
    account('carol', 'a', MBX2),
  ].join('\n');
}

interface TlsLogin {
  /** CN of the certificate nginx served. */
  subject: string;
  ok: boolean;
  /** Everything the server sent. */
  text: string;
}

/**
 * IMAPS or POP3S from CLIENT_IP with `servername` as SNI: the served certificate's CN, then one
 * login (IMAP LOGIN, POP3 USER/PASS), then logout.
 */
async function tlsLogin(
  port: number,
  protocol: 'imap' | 'pop3',
  servername: string,
  user: string,
  password: string,
): Promise<TlsLogin> {
  const socket: TLSSocket = await new Promise((resolve, reject) => {
    const s = tlsConnect({
      socket: netConnect({ host: '127.0.0.1', port, localAddress: CLIENT_IP }),
      servername,
      rejectUnauthorized: false,
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
  const subject = String(socket.getPeerCertificate().subject.CN);
  let text = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('close', () => (closed = true));
  socket.on('error', () => (closed = true));
  const until = async (pattern: RegExp): Promise<boolean> => {
    for (let i = 0; i < 200; i++) {
      if (pattern.test(text)) return true;
      if (closed) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  };
  try {
    if (protocol === 'imap') {
      await until(/^\* OK/m);
      socket.write(`a1 LOGIN "${user}" "${password}"\r\n`);
      await until(/^a1 |^\* BAD|^\* BYE/m);
      const ok = /^a1 OK/m.test(text);
      if (!closed) socket.write('a2 LOGOUT\r\n');
      return { subject, ok, text };
    }
    await until(/^\+OK/m);
    socket.write(`USER ${user}\r\n`);
    await until(/^\+OK.*\r?\n\+OK|^-ERR/m);
    socket.write(`PASS ${password}\r\n`);
    const done = await until(/^\+OK.*\r?\n\+OK.*\r?\n\+OK|^-ERR/m);
    const ok = done && !/^-ERR/m.test(text);
    if (!closed) socket.write('QUIT\r\n');
    return { subject, ok, text };
  } finally {
    socket.destroy();
  }
}

function dovecotLoginLines(instance: 1 | 2, user: string): string[] {
  const log = readFileSync(
    join(stackValue('STACK_DIR'), `dovecot${instance}`, 'dovecot.log'),
    'utf8',
  );
  return log.split('\n').filter((line) => line.includes(`Login: user=<${user}>`));
}

const HOSTS = new Map([
  ['proxy.test', ['127.0.0.1']],
  [MBX1, ['127.0.0.1']],
  [MBX2, ['127.0.0.1']],
]);

let work = '';
let ports: Ports;
let lookup: RunningLookup | undefined;
let nginxPid = 0;
const logLines: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'zmproxy-mail-tls-e2e-'));
  chmodSync(work, 0o755);
  const list = await freePorts(5);
  ports = {
    authHttp: list[0]!,
    imap: list[1]!,
    pop3: list[2]!,
    imaps: list[3]!,
    pop3s: list[4]!,
  };
  const certs = {
    a: { crt: join(work, 'a.crt'), key: join(work, 'a.key') },
    b: { crt: join(work, 'b.crt'), key: join(work, 'b.key') },
  };
  writeSelfSignedCertificate(certs.a.crt, certs.a.key, 'mail.a.test');
  writeSelfSignedCertificate(certs.b.crt, certs.b.key, 'mail.b.test');

  const ldif = join(work, 'directory.ldif');
  writeFileSync(ldif, directoryLdif(ports, certs));
  await resetDirectory(ldif);

  mailStack.addDovecotUsers(
    ['alice@a.test', 'bob@b.test', 'carol@a.test'].map((user) => [
      user,
      `${user.split('@')[0] ?? ''}-pw`,
    ]),
  );

  // nginx from our templates, its lookup upstream pointing at the service.
  const proxy = await mailStack.startMailProxy({
    work,
    ldif,
    sharedKey: SHARED_KEY,
    authHttpPort: ports.authHttp,
    noCache: true,
    hosts: HOSTS,
    log: logLines,
    // Only dovecot1's certificate is trusted: dovecot2 is the failure case.
    localConfig: [['zmproxy_mail_upstream_ca_file', stackValue('DOVECOT_TLS_CERT_1')]],
    testFirst: true,
  });
  lookup = proxy.lookup;
  nginxPid = proxy.nginxPid;
  await waitForPort(ports.imaps);
});

afterAll(async () => {
  if (work !== '') writeFileSync(join(work, 'lookup.log'), logLines.join(''));
  mailStack.stopPid(nginxPid);
  await lookup?.stop();
  if (work !== '' && process.env['ZMPROXY_KEEP_STACK'] === undefined)
    rmSync(work, { recursive: true, force: true });
});

const nginxLog = () => readFileSync(join(work, 'log/nginx.log'), 'utf8');

describe('IMAPS/POP3S through the stream module with Zimbra 10 defaults', () => {
  it('renders the stream module, the SNI router and the upstream TLS listeners', () => {
    const stream = readFileSync(join(work, 'conf/nginx/includes/nginx.conf.stream'), 'utf8');
    expect(stream).toContain(`listen          ${upstreamTlsAddress(MBX1)}:7993;`);
    expect(stream).toContain('ssl_preread     on;');
    expect(stream).toMatch(/^\s+proxy_ssl_verify\s+on;/m);
    expect(readFileSync(join(work, 'conf/nginx.conf'), 'utf8')).toMatch(
      /^load_module \/usr\/lib\/nginx\/modules\/ngx_stream_module\.so;/m,
    );
  });

  it.each([
    ['imap', 'mail.a.test', 'alice@a.test', 'alice-pw'],
    ['imap', 'mail.b.test', 'bob@b.test', 'bob-pw'],
    ['pop3', 'mail.a.test', 'alice@a.test', 'alice-pw'],
    ['pop3', 'mail.b.test', 'bob@b.test', 'bob-pw'],
  ] as const)(
    '%s over TLS to %s: its own certificate, and a TLS login on the mailbox server',
    async (protocol, name, user, password) => {
      const before = dovecotLoginLines(1, user).length;
      const port = protocol === 'imap' ? ports.imaps : ports.pop3s;
      const result = await tlsLogin(port, protocol, name, user, password);
      expect(result.subject).toBe(name);
      expect({ ok: result.ok, text: result.text }).toMatchObject({ ok: true });
      const lines = dovecotLoginLines(1, user);
      expect(lines.length).toBe(before + 1);
      // The mailbox server saw TLS on its TLS-only port.
      expect(lines.at(-1)).toMatch(/, TLS[,:]/);
    },
  );

  it('serves the default certificate to a name without one of its own', async () => {
    const result = await tlsLogin(ports.imaps, 'imap', 'other.test', 'alice@a.test', 'alice-pw');
    expect(result.subject).toBe('localhost');
    expect(result.ok).toBe(true);
  });

  it('hands the client address through to the lookup service and the mail log', async () => {
    logLines.length = 0;
    await tlsLogin(ports.imaps, 'imap', 'mail.b.test', 'bob@b.test', 'bob-pw');
    const lookupLine = logLines.find((line) => line.includes('bob@b.test'));
    expect(lookupLine).toBeDefined();
    expect(lookupLine).toContain(`"client":"${CLIENT_IP}"`);
    expect(nginxLog()).toMatch(new RegExp(`client ${CLIENT_IP.replace(/\./g, '\\.')}\\b`));
  });

  it('keeps STARTTLS on the plain port working through the TLS chain', async () => {
    const before = dovecotLoginLines(1, 'alice@a.test').length;
    // Not spawnSync: the lookup service runs in this process.
    const result = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        'curl',
        [
          '-sS',
          '--max-time',
          '15',
          '--ssl-reqd',
          '-k',
          `imap://127.0.0.1:${ports.imap}/`,
          '--user',
          'alice@a.test:alice-pw',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('close', (status) => resolve({ status, stderr }));
    });
    expect(result).toMatchObject({ status: 0 });
    expect(dovecotLoginLines(1, 'alice@a.test').length).toBe(before + 1);
  });

  it('fails a login on a mailbox server with an untrusted certificate, and logs why', async () => {
    const before = dovecotLoginLines(2, 'carol@a.test').length;
    const result = await tlsLogin(ports.imaps, 'imap', 'mail.a.test', 'carol@a.test', 'carol-pw');
    expect(result.ok).toBe(false);
    expect(dovecotLoginLines(2, 'carol@a.test').length).toBe(before);
    const line = nginxLog()
      .split('\n')
      .find((l) => l.includes('certificate verify') && l.includes(upstreamTlsAddress(MBX2)));
    expect(line).toBeDefined();
  });
});
