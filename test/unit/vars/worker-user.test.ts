import { describe, expect, it } from 'vitest';
import { STOCK_VARIABLES } from '../../../src/vars/stock.js';
import type { VarContext } from '../../../src/vars/types.js';
import { context, globalConfig, server, snapshot } from '../../helpers/builders.js';

function value(ctx: VarContext, name: string): string {
  const found = STOCK_VARIABLES.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no variable ${name}`);
  return found.compute(ctx);
}

function setup(localConfig: Record<string, string>) {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig({}),
      servers: [server('proxy1.example.com', { zimbraServiceEnabled: ['proxy'] })],
      domains: [],
    }),
    serverName: 'proxy1.example.com',
    localConfig,
  });
}

describe("the stock user directive (nginx's workers)", () => {
  it("is left out without zimbra_user: nginx's compiled-in default user", () => {
    const { ctx, problems } = setup({});
    expect(value(ctx, 'stock.main.user.enabled')).toBe('#');
    expect(value(ctx, 'stock.main.user')).toBe('nobody nogroup');
    expect(problems).toEqual([]);
  });

  it('names zimbra_user and the key group zmproxy_nginx_group', () => {
    const { ctx, problems } = setup({ zimbra_user: 'zimbra', zmproxy_nginx_group: 'zimbra' });
    expect(value(ctx, 'stock.main.user.enabled')).toBe('');
    expect(value(ctx, 'stock.main.user')).toBe('zimbra zimbra');
    expect(problems).toEqual([]);
  });

  it('refuses a name that would leave its directive', () => {
    const { ctx, problems } = setup({
      zimbra_user: 'zimbra; load_module /tmp/x.so',
      zmproxy_nginx_group: 'a b',
    });
    expect(value(ctx, 'stock.main.user')).toBe('nobody nogroup');
    expect(value(ctx, 'stock.main.user.enabled')).toBe('#');
    expect(problems.map((p) => p.subject)).toEqual(['zimbra_user', 'zmproxy_nginx_group']);
    expect(problems[0]?.hint).toBe('zmlocalconfig -e zimbra_user=nobody');
  });
});
