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

/**
 * What listens, the attribute that sets its port, the port variable and the variable that
 * enables it; the area's own switch (`web.enabled` / `mail.enabled`) must be on too.
 */
const LISTENER_ROWS: readonly (readonly [string, string, string, string])[] = [
  ['HTTP', 'zimbraMailProxyPort', 'web.http.port', 'web.http.enabled'],
  ['HTTPS', 'zimbraMailSSLProxyPort', 'web.https.port', 'web.https.enabled'],
  ['the admin console', 'zimbraAdminProxyPort', 'web.admin.port', 'web.admin.default.enabled'],
  [
    'client certificate logins',
    'zimbraMailSSLProxyClientCertPort',
    'web.sso.certauth.port',
    'web.sso.certauth.default.enabled',
  ],
  ['IMAP', 'zimbraImapProxyBindPort', 'mail.imap.port', 'mail.imap.enabled'],
  ['IMAPS', 'zimbraImapSSLProxyBindPort', 'mail.imaps.port', 'mail.imaps.enabled'],
  ['POP3', 'zimbraPop3ProxyBindPort', 'mail.pop3.port', 'mail.pop3.enabled'],
  ['POP3S', 'zimbraPop3SSLProxyBindPort', 'mail.pop3s.port', 'mail.pop3s.enabled'],
];

const LISTENERS: readonly Listener[] = LISTENER_ROWS.map(([what, attribute, portVar, enabler]) => ({
  what,
  attribute,
  portVar,
  enablers: [`${portVar.split('.')[0] ?? ''}.enabled`, enabler],
}));

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
