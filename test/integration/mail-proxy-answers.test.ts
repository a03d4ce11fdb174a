/**
 * What IMAP and POP3 clients get from stock nginx in front of a real mailbox server (the stack's
 * dovecot), through the real lookup service: the mailbox server's own error text after a failed
 * login with `proxy_pass_error_message on` (zimbraReverseProxyPassErrors TRUE, the default) and
 * nginx's generic one with it off; and `BAD` for IMAP `ID` before login, a command stock nginx's
 * mail module does not have (README "Troubleshooting").
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLookup } from '../../src/cli/lookup.js';
import { mailLogin } from '../helpers/mail-client.js';
import {
  accountLdif,
  addDovecotUsers,
  domainLdif,
  globalConfigLdif,
  proxyPortLines,
  serverLdif,
  startProxyNginx,
  startStackLookup,
  stopPid,
} from '../helpers/mail-stack.js';
import { freePorts, waitForPort } from '../helpers/ports.js';
import { resetDirectory, stackValue } from '../helpers/stack.js';

const SHARED_KEY = 'answers-shared-key';
const HOSTS = new Map([
  ['on.test', ['127.0.0.1']],
  ['off.test', ['127.0.0.1']],
  ['mbx1.test', ['127.0.0.1']],
]);

interface ProxyPorts {
  imap: number;
  pop3: number;
  /** Unused, but each nginx must bind its own. */
  imaps: number;
  pop3s: number;
  authHttp: number;
}

function directoryLdif(on: ProxyPorts, off: ProxyPorts): string {
  const proxy = (name: string, id: string, ports: ProxyPorts, passErrors: string): string =>
    serverLdif(name, id, [
      'zimbraServiceEnabled: proxy',
      'zimbraReverseProxyMailEnabled: TRUE',
      'zimbraReverseProxyHttpEnabled: FALSE',
      'zimbraReverseProxyImapStartTlsMode: off',
      'zimbraReverseProxyPop3StartTlsMode: off',
      'zimbraReverseProxyMailImapsEnabled: FALSE',
      'zimbraReverseProxyMailPop3sEnabled: FALSE',
      // Loopback listeners of the TLS chains sit on fixed addresses: two proxies on one host collide.
      'zimbraReverseProxySNIEnabled: FALSE',
      'zimbraReverseProxySSLToUpstreamEnabled: FALSE',
      `zimbraReverseProxyPassErrors: ${passErrors}`,
      ...proxyPortLines(ports),
    ]);
  return [
    globalConfigLdif('example.test', [`zimbraMemcachedBindPort: ${stackValue('MEMCACHED_PORT')}`]),
    proxy('on.test', '5', on, 'TRUE'),
    proxy('off.test', '6', off, 'FALSE'),
    serverLdif('mbx1.test', '1', [
      'zimbraServiceEnabled: mailbox',
      'zimbraServiceEnabled: service',
      'zimbraServiceEnabled: memcached',
      'zimbraReverseProxyLookupTarget: TRUE',
      'zimbraMailMode: http',
      `zimbraImapBindPort: ${stackValue('DOVECOT_IMAP_PORT_1')}`,
      `zimbraPop3BindPort: ${stackValue('DOVECOT_POP3_PORT_1')}`,
    ]),
    domainLdif('example.test'),
    accountLdif({
      uid: 'erin',
      domainDn: 'dc=example,dc=test',
      mailDomain: 'example.test',
      host: 'mbx1.test',
      idDigit: '1',
    }),
  ].join('\n');
}

/** One plain-text session: the greeting, then each command and the first line that ends it. */
async function session(
  port: number,
  commands: readonly { send: string; until: RegExp }[],
): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buffer = '';
  const lines: string[] = [];
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, at).replace(/\r$/, ''));
      buffer = buffer.slice(at + 1);
    }
  });
  const answers: string[] = [];
  const waitFor = async (pattern: RegExp): Promise<string> => {
    for (let i = 0; i < 200; i++) {
      const index = lines.findIndex((line) => pattern.test(line));
      if (index >= 0) return lines.splice(0, index + 1)[index] ?? '';
      if (socket.destroyed) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no line matching ${String(pattern)}; saw ${lines.join(' | ')}`);
  };
  try {
    answers.push(await waitFor(/^(\* OK|\+OK)/));
    for (const command of commands) {
      socket.write(`${command.send}\r\n`);
      answers.push(await waitFor(command.until));
    }
    return answers;
  } finally {
    socket.destroy();
  }
}

let work = '';
let lookup: RunningLookup | undefined;
const nginxPids: number[] = [];
let on: ProxyPorts;
let off: ProxyPorts;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'zmproxy-answers-'));
  chmodSync(work, 0o755); // nginx's workers (nobody) enter the work directories below
  const list = await freePorts(10);
  const portsAt = (i: number): ProxyPorts => ({
    imap: list[i]!,
    pop3: list[i + 1]!,
    imaps: list[i + 2]!,
    pop3s: list[i + 3]!,
    authHttp: list[i + 4]!,
  });
  on = portsAt(0);
  off = portsAt(5);
  const ldif = join(work, 'directory.ldif');
  writeFileSync(ldif, directoryLdif(on, off));
  await resetDirectory(ldif);
  addDovecotUsers([['erin@example.test', 'erin-pw']]);
  lookup = await startStackLookup({ sharedKey: SHARED_KEY, noCache: true, hosts: HOSTS });
  for (const [name, ports] of [
    ['on.test', on],
    ['off.test', off],
  ] as const) {
    nginxPids.push(
      await startProxyNginx({
        work: join(work, name),
        ldif,
        serverName: name,
        lookupAddress: lookup.address,
        sharedKey: SHARED_KEY,
        authHttpPort: ports.authHttp,
        hosts: HOSTS,
      }),
    );
    await waitForPort(ports.imap);
    await waitForPort(ports.pop3);
  }
});

afterAll(async () => {
  for (const pid of nginxPids) stopPid(pid);
  await lookup?.stop();
  if (work !== '' && process.env['ZMPROXY_KEEP_STACK'] === undefined)
    rmSync(work, { recursive: true, force: true });
});

describe('proxy_pass_error_message', () => {
  it('renders on and off from zimbraReverseProxyPassErrors', () => {
    const conf = (name: string) =>
      readFileSync(join(work, name, 'conf/nginx/includes/nginx.conf.mail'), 'utf8');
    expect(conf('on.test')).toMatch(/proxy_pass_error_message\s+on;/);
    expect(conf('off.test')).toMatch(/proxy_pass_error_message\s+off;/);
  });

  it('logs in through both proxies with the right password', async () => {
    for (const ports of [on, off]) {
      expect(
        (
          await mailLogin(ports.imap, 'imap-login', 'erin@example.test', 'erin-pw', {
            starttls: false,
          })
        ).ok,
      ).toBe(true);
      expect(
        (
          await mailLogin(ports.pop3, 'pop3-user', 'erin@example.test', 'erin-pw', {
            starttls: false,
          })
        ).ok,
      ).toBe(true);
    }
  });

  // A wrong password: nginx logs in to dovecot with it (the lookup service does not check it).
  const failedLogins = async (ports: ProxyPorts) => ({
    imap: await session(ports.imap, [
      { send: 'a1 LOGIN "erin@example.test" "wrong-pw"', until: /^(a1 |\* BAD)/ },
    ]),
    pop3: await session(ports.pop3, [
      { send: 'USER erin@example.test', until: /^[+-]/ },
      { send: 'PASS wrong-pw', until: /^[+-]/ },
    ]),
  });

  it("on: the mailbox server's own failure text reaches the IMAP and POP3 client", async () => {
    const { imap, pop3 } = await failedLogins(on);
    expect(imap[1]).toBe('a1 NO [AUTHENTICATIONFAILED] Authentication failed.');
    expect(pop3[2]).toBe('-ERR [AUTH] Authentication failed.');
  });

  it("off: the client gets nginx's generic error instead", async () => {
    const { imap, pop3 } = await failedLogins(off);
    expect(imap[1]).toBe('* BAD internal server error');
    expect(pop3[2]).toBe('-ERR internal server error');
  });
});

describe('IMAP ID before login on stock nginx', () => {
  it('answers BAD (the mail module has no ID command), and the login still works after it', async () => {
    const answers = await session(on.imap, [
      { send: 'a ID NIL', until: /^a / },
      { send: 'b LOGIN "erin@example.test" "erin-pw"', until: /^b / },
    ]);
    expect(answers[1]).toMatch(/^a BAD/);
    expect(answers[2]).toMatch(/^b OK/);
  });
});
