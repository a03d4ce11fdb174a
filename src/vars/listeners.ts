/**
 * The ports the proxy listens on, checked together: each enabled listener needs a port from 1 to
 * 65535 (0 is Zimbra's "not set", and `listen 0` is refused by nginx), and no two listeners may
 * share one (nginx cannot serve HTTP and HTTPS, or IMAP and HTTP, on the same port).
 */
import type { Problem } from '../errors.js';
import { nginxDirectives } from '../model/load-module.js';

interface Listener {
  /** What listens, for messages. */
  what: string;
  /** The attribute that sets the port. */
  attribute: string;
  portVar: string;
  /** Every enabler must be on ('') for the listener to exist. */
  enablers: readonly string[];
}

const LISTENERS: readonly Listener[] = [
  {
    what: 'HTTP',
    attribute: 'zimbraMailProxyPort',
    portVar: 'web.http.port',
    enablers: ['web.enabled', 'web.http.enabled'],
  },
  {
    what: 'HTTPS',
    attribute: 'zimbraMailSSLProxyPort',
    portVar: 'web.https.port',
    enablers: ['web.enabled', 'web.https.enabled'],
  },
  {
    what: 'the admin console',
    attribute: 'zimbraAdminProxyPort',
    portVar: 'web.admin.port',
    enablers: ['web.enabled', 'web.admin.default.enabled'],
  },
  {
    what: 'client certificate logins',
    attribute: 'zimbraMailSSLProxyClientCertPort',
    portVar: 'web.sso.certauth.port',
    enablers: ['web.enabled', 'web.sso.certauth.default.enabled'],
  },
  {
    what: 'IMAP',
    attribute: 'zimbraImapProxyBindPort',
    portVar: 'mail.imap.port',
    enablers: ['mail.enabled', 'mail.imap.enabled'],
  },
  {
    what: 'IMAPS',
    attribute: 'zimbraImapSSLProxyBindPort',
    portVar: 'mail.imaps.port',
    enablers: ['mail.enabled', 'mail.imaps.enabled'],
  },
  {
    what: 'POP3',
    attribute: 'zimbraPop3ProxyBindPort',
    portVar: 'mail.pop3.port',
    enablers: ['mail.enabled', 'mail.pop3.enabled'],
  },
  {
    what: 'POP3S',
    attribute: 'zimbraPop3SSLProxyBindPort',
    portVar: 'mail.pop3s.port',
    enablers: ['mail.enabled', 'mail.pop3s.enabled'],
  },
];

/** Problems with the ports of the enabled listeners of `vars` (after overrides). */
export function checkListenerPorts(vars: ReadonlyMap<string, string>, server: string): Problem[] {
  const problems: Problem[] = [];
  const byPort = new Map<number, Listener>();
  for (const listener of LISTENERS) {
    if (!listener.enablers.every((name) => (vars.get(name) ?? '#') === '')) continue;
    const text = vars.get(listener.portVar) ?? '';
    const port = /^\d{1,5}$/.test(text) ? Number(text) : 0;
    const entry = `server ${server}`;
    const hint = `zmprov ms ${server} ${listener.attribute} <port>`;
    if (port < 1 || port > 65_535) {
      problems.push({
        subject: listener.attribute,
        entry,
        message: `the ${listener.what} listener is enabled but has no port (1 to 65535)`,
        value: text,
        hint,
      });
      continue;
    }
    const other = byPort.get(port);
    if (other !== undefined) {
      problems.push({
        subject: listener.attribute,
        entry,
        message: `${listener.what} would listen on port ${port}, which ${other.what} (${other.attribute}) uses already`,
        value: text,
        hint,
      });
      continue;
    }
    byPort.set(port, listener);
  }
  return problems;
}

/**
 * nginx refuses to start when `worker_connections` does not exceed the number of sockets it
 * listens on; the directory cannot know that number, so the rendered tree is counted: one socket
 * per distinct `listen` address.
 */
export function checkWorkerConnections(
  files: readonly { content: string }[],
  vars: ReadonlyMap<string, string>,
  server: string,
): Problem[] {
  const connections = Number(vars.get('main.connections') ?? '');
  if (!Number.isInteger(connections)) return [];
  const sockets = new Set<string>();
  for (const file of files) {
    // Certificates and keys (most files of a large directory) hold no directive at all.
    if (!file.content.includes('listen')) continue;
    for (const directive of nginxDirectives(file.content)) {
      if (directive.name === 'listen' && directive.args[0] !== undefined) {
        sockets.add(directive.args[0]);
      }
    }
  }
  if (connections > sockets.size) return [];
  return [
    {
      subject: 'zimbraReverseProxyWorkerConnections',
      entry: `server ${server}`,
      message: `nginx needs more worker connections than its ${sockets.size} listening sockets`,
      value: String(connections),
      hint: `zmprov ms ${server} zimbraReverseProxyWorkerConnections 10240`,
    },
  ];
}
