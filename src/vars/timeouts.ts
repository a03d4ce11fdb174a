/**
 * Variables of the timeouts area (docs/zimbra-notes.md "Variables by area"): route lookup, mail
 * protocol and web upstream timeouts. Attribute-backed ones follow Zimbra's units; localconfig
 * ones are whole seconds.
 */
import { LOCALCONFIG_DEFAULTS } from '../model/localconfig-defaults.js';
import { attrVar, customVar } from './define.js';
import type { VariableDefinition } from './types.js';

/** Options of {@link lcSecondsVar}. */
interface LcSecondsOptions {
  name: string;
  description: string;
  /** The localconfig key holding whole seconds. */
  key: string;
  /** Seconds added to the value (ProxyConfGen's TimeoutVar). @default 0 */
  offset?: number;
}

/**
 * A timeout in whole seconds from a localconfig key plus an offset. Unlike a plain integer key,
 * a negative value is reported (nginx rejects negative times) and the default is used.
 */
function lcSecondsVar(options: LcSecondsOptions): VariableDefinition {
  const { key } = options;
  const offset = options.offset ?? 0;
  const zimbraDefault = Number(LOCALCONFIG_DEFAULTS[key] ?? 0);
  return customVar({
    name: options.name,
    area: 'timeouts',
    description: options.description,
    attribute: key,
    type: 'integer',
    source: 'localconfig',
    defaultText: String(zimbraDefault + offset),
    compute(ctx) {
      const seconds = ctx.lc.integer(key);
      if (seconds >= 0) return String(seconds + offset);
      ctx.problem({
        subject: key,
        entry: 'localconfig',
        message: 'must be at least 0 (a time in seconds)',
        value: String(seconds),
        hint: `zmlocalconfig -e ${key}=<seconds>`,
      });
      return String(zimbraDefault + offset);
    },
  });
}

export const TIMEOUTS_VARIABLES: readonly VariableDefinition[] = [
  attrVar({
    name: 'zmlookup.timeout',
    area: 'timeouts',
    description: 'How long nginx waits for a route lookup handler to answer',
    attribute: 'zimbraReverseProxyRouteLookupTimeout',
    type: 'time',
    source: 'server',
    defaultValue: 15_000,
  }),
  attrVar({
    name: 'zmlookup.retryinterval',
    area: 'timeouts',
    description: 'How long nginx avoids a lookup handler after it failed',
    attribute: 'zimbraReverseProxyRouteLookupTimeoutCache',
    type: 'time',
    source: 'server',
    defaultValue: 60_000,
  }),
  attrVar({
    name: 'mail.auth_http_timeout',
    area: 'timeouts',
    description: 'Route lookup timeout for auth_http (defined, but no Zimbra template uses it)',
    attribute: 'zimbraReverseProxyRouteLookupTimeout',
    type: 'time',
    source: 'server',
    defaultValue: 15_000,
    unused: true,
  }),
  attrVar({
    name: 'mail.ctimeout',
    area: 'timeouts',
    description: 'How long the mail proxy waits to connect to an upstream mail server',
    attribute: 'zimbraReverseProxyConnectTimeout',
    type: 'time',
    source: 'server',
    defaultValue: 120_000,
  }),
  attrVar({
    name: 'mail.authwait',
    area: 'timeouts',
    description: 'Delay before the mail proxy answers a failed login',
    attribute: 'zimbraReverseProxyAuthWaitInterval',
    type: 'time',
    source: 'config',
    defaultValue: 10_000,
  }),
  lcSecondsVar({
    name: 'mail.imap.timeout',
    description: 'Seconds an IMAP client may stay idle before logging in',
    key: 'imap_max_idle_time',
  }),
  lcSecondsVar({
    name: 'mail.imap.proxytimeout',
    description: 'Seconds an authenticated IMAP session may stay idle (IMAP idle time plus 300)',
    key: 'imap_authenticated_max_idle_time',
    offset: 300,
  }),
  lcSecondsVar({
    name: 'mail.pop3.timeout',
    description: 'Seconds a POP3 client may stay idle before logging in',
    key: 'pop3_max_idle_time',
  }),
  lcSecondsVar({
    name: 'mail.pop3.proxytimeout',
    description: 'Seconds an authenticated POP3 session may stay idle',
    key: 'pop3_max_idle_time',
  }),
  attrVar({
    name: 'web.upstream.connect.timeout',
    area: 'timeouts',
    description: 'Seconds the web proxy waits to connect to an upstream server',
    attribute: 'zimbraReverseProxyUpstreamConnectTimeout',
    type: 'integer',
    source: 'server',
    defaultValue: 25,
  }),
  attrVar({
    name: 'web.upstream.read.timeout',
    area: 'timeouts',
    description: 'Seconds the web proxy waits between two reads from an upstream server',
    attribute: 'zimbraReverseProxyUpstreamReadTimeout',
    type: 'time-seconds',
    source: 'server',
    defaultValue: 60,
  }),
  attrVar({
    name: 'web.upstream.send.timeout',
    area: 'timeouts',
    description: 'Seconds the web proxy waits between two writes to an upstream server',
    attribute: 'zimbraReverseProxyUpstreamSendTimeout',
    type: 'time-seconds',
    source: 'server',
    defaultValue: 60,
  }),
  attrVar({
    name: 'web.upstream.polling.timeout',
    area: 'timeouts',
    description: 'Seconds the web proxy keeps a long-polling request to an upstream open',
    attribute: 'zimbraReverseProxyUpstreamPollingTimeout',
    type: 'time-seconds',
    source: 'server',
    defaultValue: 3600,
  }),
  lcSecondsVar({
    name: 'web.upstream.noop.timeout',
    description: 'Seconds the web proxy waits for a NoOp request (mailbox NoOp limit plus 20)',
    key: 'zimbra_noop_max_timeout',
    offset: 20,
  }),
  lcSecondsVar({
    name: 'web.upstream.waitset.timeout',
    description:
      'Seconds the web proxy waits for a WaitSet request (mailbox WaitSet limit plus 20)',
    key: 'zimbra_waitset_max_request_timeout',
    offset: 20,
  }),
];
