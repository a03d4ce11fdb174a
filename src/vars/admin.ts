/**
 * Variables of the admin area (docs/zimbra-notes.md "Variables by area"): the admin console proxy
 * and its upstreams.
 */
import { attrVar, constVar } from './define.js';
import type { VariableDefinition } from './types.js';
import { upstreamServersVar } from './upstreams.js';

export const ADMIN_VARIABLES: readonly VariableDefinition[] = [
  attrVar({
    name: 'web.admin.default.enabled',
    area: 'admin',
    description: 'Enables the admin console proxy servers',
    attribute: 'zimbraReverseProxyAdminEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: false,
  }),
  attrVar({
    name: 'web.admin.port',
    area: 'admin',
    description: 'Port the proxy serves the admin console on',
    attribute: 'zimbraAdminProxyPort',
    type: 'port',
    source: 'server',
    defaultValue: 9071,
  }),
  attrVar({
    name: 'web.admin.uport',
    area: 'admin',
    description: 'Admin console port of the mailbox servers',
    attribute: 'zimbraAdminPort',
    type: 'port',
    source: 'server',
    defaultValue: 7071,
  }),
  constVar(
    'web.admin.upstream.adminclient.name',
    'admin',
    'Name of the upstream of admin console client servers',
    'zimbra_adminclient',
  ),
  constVar(
    'web.admin.upstream.name',
    'admin',
    'Name of the upstream of mailbox servers for admin requests',
    'zimbra_admin',
  ),
  upstreamServersVar(
    'web.admin.upstream.adminclient.:servers',
    'admin',
    'Admin console client servers (service zimbraAdmin) on their admin port',
    { group: 'adminClient', port: 'admin' },
  ),
  upstreamServersVar(
    'web.admin.upstream.:servers',
    'admin',
    'Mailbox servers (service service) on their admin port',
    { group: 'mailClient', port: 'admin' },
  ),
];
