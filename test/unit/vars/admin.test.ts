import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../helpers/builders.js';
import { context, globalConfig, mailboxServer, server, snapshot } from '../../helpers/builders.js';
import type { DirectoryEntry } from '../../../src/model/snapshot.js';
import { ADMIN_VARIABLES } from '../../../src/vars/admin.js';
import type { VarContextHandle } from '../../../src/vars/context.js';

function setup(options: { proxy?: Attrs; gc?: Attrs; servers?: DirectoryEntry[] } = {}) {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig(options.gc),
      servers: [...(options.servers ?? []), server('proxy', options.proxy)],
    }),
    serverName: 'proxy',
  });
}

function value(handle: VarContextHandle, name: string): string {
  const definition = ADMIN_VARIABLES.find((v) => v.name === name);
  if (definition === undefined) throw new Error(`no variable ${name}`);
  return definition.compute(handle.ctx);
}

describe('admin variables', () => {
  it('disables the admin console proxy by default and enables it when configured', () => {
    expect(value(setup(), 'web.admin.default.enabled')).toBe('#');
    expect(
      value(
        setup({ proxy: { zimbraReverseProxyAdminEnabled: 'TRUE' } }),
        'web.admin.default.enabled',
      ),
    ).toBe('');
  });

  it('reads the admin ports with code defaults 9071 and 7071', () => {
    expect(value(setup(), 'web.admin.port')).toBe('9071');
    expect(value(setup(), 'web.admin.uport')).toBe('7071');
    const handle = setup({ gc: { zimbraAdminProxyPort: '9443', zimbraAdminPort: '7443' } });
    expect(value(handle, 'web.admin.port')).toBe('9443');
    expect(value(handle, 'web.admin.uport')).toBe('7443');
  });

  it('names the admin upstreams', () => {
    expect(value(setup(), 'web.admin.upstream.adminclient.name')).toBe('zimbra_adminclient');
    expect(value(setup(), 'web.admin.upstream.name')).toBe('zimbra_admin');
  });

  it('lists admin client and mailbox servers on the port named by zimbraReverseProxyAdminPortAttribute', () => {
    const handle = setup({
      gc: {
        zimbraAdminPort: '7071',
        zimbraMailProxyReconnectTimeout: '10',
        zimbraReverseProxyAdminPortAttribute: 'zimbraAdminPort',
      },
      servers: [mailboxServer('mb1', { zimbraServerVersion: '10.1.0' })],
    });
    const expected = 'server    mb1:7071 fail_timeout=10s version=10.1.0;\n';
    expect(value(handle, 'web.admin.upstream.adminclient.:servers')).toBe(expected);
    expect(value(handle, 'web.admin.upstream.:servers')).toBe(expected);
  });

  it('leaves the admin lists empty without upstream servers', () => {
    expect(value(setup(), 'web.admin.upstream.adminclient.:servers')).toBe('');
    expect(value(setup(), 'web.admin.upstream.:servers')).toBe('');
  });
});
