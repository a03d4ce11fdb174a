/**
 * Variables our own templates for stock nginx add (they have no Zimbra counterpart). Each can be
 * overridden with `-c name=value`.
 */
import { constVar, customVar } from './define.js';
import type { VariableDefinition } from './types.js';
import type { UpstreamListSpec } from './upstreams.js';
import { computeUpstreamServers, formatUpstreamServers } from './upstreams.js';

/** An upstream list without Zimbra's `version=` parameter, which stock nginx rejects. */
function stockUpstreamVar(
  name: string,
  description: string,
  spec: UpstreamListSpec,
): VariableDefinition {
  return customVar({
    name,
    area: 'stock',
    description,
    compute: (ctx) => formatUpstreamServers(computeUpstreamServers(ctx, spec), { version: false }),
  });
}

export const STOCK_VARIABLES: readonly VariableDefinition[] = [
  constVar(
    'stock.mail.module',
    'stock',
    'The dynamic nginx mail module stock nginx loads (Debian: libnginx-mod-mail)',
    '/usr/lib/nginx/modules/ngx_mail_module.so',
  ),
  constVar(
    'stock.lookup.url',
    'stock',
    "URL of zmproxy's lookup service that nginx asks for mail routes (auth_http)",
    'http://127.0.0.1:7072/service/extension/nginx-lookup',
  ),
  stockUpstreamVar(
    'stock.upstream.webclient.:servers',
    'Web client upstream servers over HTTP, for stock nginx',
    {
      group: 'webClient',
      port: 'http',
    },
  ),
  stockUpstreamVar(
    'stock.ssl.upstream.webclient.:servers',
    'Web client upstream servers over HTTPS, for stock nginx',
    { group: 'webClient', port: 'https' },
  ),
];
