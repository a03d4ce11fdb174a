import { describe, expect, it } from 'vitest';
import { readLookupTopology } from '../../../src/model/lookup-topology.js';
import { LOCALCONFIG_DEFAULTS } from '../../../src/model/localconfig-defaults.js';
import { STOCK_VARIABLES } from '../../../src/vars/stock.js';
import type { VarContext } from '../../../src/vars/types.js';
import { context, globalConfig, mailboxServer, server, snapshot } from '../../helpers/builders.js';

function value(ctx: VarContext, name: string): string {
  const found = STOCK_VARIABLES.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no variable ${name}`);
  return found.compute(ctx);
}

function setup(localConfig: Record<string, string>) {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig({}),
      servers: [
        server('proxy1.example.com', { zimbraServiceEnabled: ['proxy'] }),
        mailboxServer('mbox1.example.com'),
      ],
      domains: [],
    }),
    serverName: 'proxy1.example.com',
    localConfig,
  });
}

describe('localconfig zmproxy_bind_address', () => {
  it('listens on every address by default, on both families', () => {
    const { ctx } = setup({});
    expect(value(ctx, 'stock.bind.prefix')).toBe('');
    expect(value(ctx, 'stock.ipv4.enabled')).toBe('');
    expect(value(ctx, 'stock.ipv6.enabled')).toBe('');
    expect(value(ctx, 'stock.generation.listen')).toBe('127.0.0.1:7078');
    expect(value(ctx, 'stock.lookup.listen')).toBe('127.0.0.1:7079');
  });

  it('puts every listen line and the internal listeners on a loopback bind address', () => {
    const { ctx, problems } = setup({ zmproxy_bind_address: '127.0.0.12' });
    expect(value(ctx, 'stock.bind.prefix')).toBe('127.0.0.12:');
    expect(value(ctx, 'stock.ipv4.enabled')).toBe('');
    expect(value(ctx, 'stock.ipv6.enabled')).toBe('#');
    expect(value(ctx, 'stock.generation.listen')).toBe('127.0.0.12:7078');
    expect(value(ctx, 'stock.lookup.listen')).toBe('127.0.0.12:7079');
    expect(problems).toEqual([]);
  });

  it('keeps the internal listeners on 127.0.0.1 for a public address, brackets IPv6', () => {
    const { ctx } = setup({ zmproxy_bind_address: '2001:db8::5' });
    expect(value(ctx, 'stock.bind.prefix')).toBe('[2001:db8::5]:');
    expect(value(ctx, 'stock.generation.listen')).toBe('127.0.0.1:7078');
    expect(value(ctx, 'stock.lookup.listen')).toBe('127.0.0.1:7079');
  });

  it('leaves an auth_http address set in localconfig alone', () => {
    const { ctx } = setup({
      zmproxy_bind_address: '127.0.0.12',
      zmproxy_auth_http_listen: '127.0.0.1:7090',
    });
    expect(value(ctx, 'stock.lookup.listen')).toBe('127.0.0.1:7090');
  });

  it('refuses a value that is not an IP address, naming the key', () => {
    const { ctx, problems } = setup({ zmproxy_bind_address: 'proxy1.example.com' });
    expect(value(ctx, 'stock.bind.prefix')).toBe('');
    expect(problems.map((p) => p.subject)).toEqual(['zmproxy_bind_address']);
  });

  it('moves the local lookup service to a loopback bind address unless its own key is set', () => {
    const read = (lc: Record<string, string>) => (key: string) =>
      lc[key] ?? LOCALCONFIG_DEFAULTS[key] ?? '';
    const moved = readLookupTopology(read({ zmproxy_bind_address: '127.0.0.13' })).topology;
    expect(moved.kind === 'local' && moved.listen).toEqual({ host: '127.0.0.13', port: 7077 });
    const own = readLookupTopology(
      read({ zmproxy_bind_address: '127.0.0.13', zmproxy_lookup_bind_address: '127.0.0.5' }),
    ).topology;
    expect(own.kind === 'local' && own.listen.host).toBe('127.0.0.5');
  });
});
