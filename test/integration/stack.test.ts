/** The test stack answers: slapd, memcached, nginx (HTTP and the mail module) and both dovecots. */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runStackScript } from '../helpers/stack-script.js';
import { stackPort, stackValue, withLdapClient } from '../helpers/stack.js';

/**
 * Opens a TCP connection to 127.0.0.1:port, sends each line after the greeting (waiting for a
 * reply line that matches `until` each time) and returns everything received. A server without
 * a greeting (memcached) gets the first line at once (`greets: false`).
 */
function converse(
  port: number,
  lines: readonly string[],
  until: RegExp,
  greets = true,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const offset = greets ? 0 : 1;
    let sent = offset;
    if (!greets) socket.once('connect', () => socket.write(`${lines[0] ?? ''}\r\n`));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from port ${port}; got ${JSON.stringify(received)}`));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const complete = received.split('\r\n').filter((line) => until.test(line)).length;
      while (sent < complete + offset) {
        const next = lines[sent];
        sent += 1;
        if (next === undefined) {
          clearTimeout(timer);
          socket.end();
          resolve(received);
          return;
        }
        socket.write(`${next}\r\n`);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe('the test stack', () => {
  it('runs slapd with the Zimbra schema, bound as the rootdn', async () => {
    const subschema = await withLdapClient(async (client) => {
      const { searchEntries } = await client.search('cn=Subschema', {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['objectClasses'],
      });
      return JSON.stringify(searchEntries[0]?.['objectClasses'] ?? []);
    });
    expect(subschema).toContain("1.3.6.1.4.1.19348.2.2.8 NAME 'zimbraServer'");
    expect(subschema).toContain("NAME 'zimbraGlobalConfig'");
  });

  it('runs memcached', async () => {
    const reply = await converse(stackPort('MEMCACHED_PORT'), ['version'], /^VERSION/, false);
    expect(reply).toMatch(/^VERSION 1\.\d+/);
    expect(stackValue('MEMCACHED_SERVERS')).toBe(`127.0.0.1:${stackValue('MEMCACHED_PORT')}`);
  });

  it('runs nginx with the HTTP server and the mail module', async () => {
    const response = await fetch(`http://127.0.0.1:${stackValue('NGINX_HTTP_PORT')}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('zmproxy test stack\n');
    const imap = await converse(stackPort('NGINX_IMAP_PORT'), [], /^\* OK/);
    expect(imap).toMatch(/^\* OK/);
    const pop3 = await converse(stackPort('NGINX_POP3_PORT'), [], /^\+OK/);
    expect(pop3).toMatch(/^\+OK/);
  });

  it.each([1, 2])('runs dovecot %i as an IMAP and POP3 mailbox upstream', async (instance) => {
    const user = stackValue('DOVECOT_TEST_USER');
    const password = stackValue('DOVECOT_TEST_PASSWORD');
    const imap = await converse(
      stackPort(`DOVECOT_IMAP_PORT_${instance}`),
      [`a1 LOGIN ${user} ${password}`, 'a2 LOGOUT'],
      /^(\* OK|a\d (OK|NO|BAD))/,
    );
    expect(imap).toMatch(new RegExp(`^\\* OK .*dovecot${instance} ready\\.`));
    expect(imap).toMatch(/a1 OK .*Logged in/);
    const pop3 = await converse(
      stackPort(`DOVECOT_POP3_PORT_${instance}`),
      [`USER ${user}`, `PASS ${password}`, 'QUIT'],
      /^[+-](OK|ERR)/,
    );
    expect(pop3).toMatch(/^\+OK dovecot/);
    expect(pop3).toMatch(/\+OK Logged in/);
  });

  it('reports every daemon running', async () => {
    const status = await runStackScript(['status'], { STACK_DIR: stackValue('STACK_DIR') }, 10_000);
    expect(status.trim().split('\n')).toHaveLength(6);
    expect(status).toMatch(/^ad-slapd\s+running/m);
    expect(status).not.toContain('stopped');
  });
});
