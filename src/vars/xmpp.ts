/**
 * Variables of the xmpp area (docs/zimbra-notes.md "Variables by area"): the XMPP BOSH (http-bind)
 * location of the web servers.
 */
import { attrVar, customVar, enabler } from './define.js';
import type { VarContext, VariableDefinition } from './types.js';

const LOCAL_BIND_URL = 'zimbraReverseProxyXmppBoshLocalHttpBindURL';
const REMOTE_BIND_URL = 'zimbraReverseProxyXmppBoshRemoteHttpBindURL';
const BOSH_HOSTNAME = 'zimbraReverseProxyXmppBoshHostname';
const BOSH_PORT = 'zimbraReverseProxyXmppBoshPort';

/**
 * A URL path that may stand as one nginx token (`location <path>`, the tail of a `proxy_pass`).
 * Empty is allowed where the code default is empty.
 */
function readUrlPath(ctx: VarContext, name: string, codeDefault: string): string {
  const value = ctx.server.token(name, codeDefault);
  if (value === '' || value.startsWith('/')) return value;
  ctx.server.report(name, ctx.server.find(name), value, 'not a URL path (must start with /)');
  return codeDefault;
}

/**
 * The BOSH location exists only when it is enabled and fully configured (docs/zimbra-notes.md
 * "Variables by area").
 */
function boshConfigured(ctx: VarContext): boolean {
  return (
    readUrlPath(ctx, LOCAL_BIND_URL, '') !== '' &&
    ctx.server.hostname(BOSH_HOSTNAME, '') !== '' &&
    ctx.server.port(BOSH_PORT, 0) !== 0 &&
    ctx.server.boolean('zimbraReverseProxyXmppBoshEnabled')
  );
}

export const XMPP_VARIABLES: readonly VariableDefinition[] = [
  customVar({
    name: 'web.xmpp.bosh.upstream.disable',
    area: 'xmpp',
    description:
      'Enables the XMPP BOSH location when it is enabled and its URL, host and port are set',
    attribute: 'zimbraReverseProxyXmppBoshEnabled',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(boshConfigured(ctx)),
  }),
  customVar({
    name: 'web.xmpp.upstream.proto',
    area: 'xmpp',
    description: 'Scheme towards the XMPP BOSH server (https or http)',
    attribute: 'zimbraReverseProxyXmppBoshSSL',
    type: 'string',
    source: 'server',
    defaultText: 'https',
    compute: (ctx) =>
      ctx.server.boolean('zimbraReverseProxyXmppBoshSSL', true) ? 'https' : 'http',
  }),
  customVar({
    name: 'web.xmpp.local.bind.url',
    area: 'xmpp',
    description: 'Path the proxy serves XMPP BOSH on',
    attribute: LOCAL_BIND_URL,
    type: 'string',
    source: 'server',
    defaultText: '/http-bind',
    compute: (ctx) => readUrlPath(ctx, LOCAL_BIND_URL, '/http-bind'),
  }),
  customVar({
    name: 'web.xmpp.remote.bind.url',
    area: 'xmpp',
    description: 'Path of the BOSH service on the XMPP server',
    attribute: REMOTE_BIND_URL,
    type: 'string',
    source: 'server',
    defaultText: '',
    compute: (ctx) => readUrlPath(ctx, REMOTE_BIND_URL, ''),
  }),
  customVar({
    name: 'web.xmpp.bosh.hostname',
    area: 'xmpp',
    description: 'Host name of the XMPP BOSH server',
    attribute: BOSH_HOSTNAME,
    type: 'string',
    source: 'server',
    defaultText: '',
    compute: (ctx) => ctx.server.hostname(BOSH_HOSTNAME, ''),
  }),
  attrVar({
    name: 'web.xmpp.bosh.port',
    area: 'xmpp',
    description: 'Port of the XMPP BOSH server',
    attribute: BOSH_PORT,
    type: 'port',
    source: 'server',
    defaultValue: 0,
  }),
  attrVar({
    name: 'web.xmpp.bosh.timeout',
    area: 'xmpp',
    description: 'Seconds to wait for the XMPP BOSH server (proxy read/send timeout)',
    attribute: 'zimbraReverseProxyXmppBoshTimeout',
    type: 'time-seconds',
    source: 'server',
    defaultValue: 60,
  }),
  attrVar({
    name: 'web.xmpp.bosh.enabled',
    area: 'xmpp',
    description: 'XMPP BOSH proxying switch (no template uses it)',
    attribute: 'zimbraReverseProxyXmppBoshEnabled',
    type: 'enabler',
    source: 'server',
    unused: true,
  }),
  attrVar({
    name: 'web.xmpp.bosh.use_ssl',
    area: 'xmpp',
    description: 'XMPP BOSH over TLS switch (no template uses it)',
    attribute: 'zimbraReverseProxyXmppBoshSSL',
    type: 'enabler',
    source: 'server',
    defaultValue: true,
    unused: true,
  }),
];
