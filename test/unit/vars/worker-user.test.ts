import { describe, expect, it } from 'vitest';
import { STOCK_VARIABLES } from '../../../src/vars/stock.js';
import type { VarContext } from '../../../src/vars/types.js';
import { context, server, snapshot, variableValue } from '../../helpers/builders.js';

const value = (ctx: VarContext, name: string) => variableValue(STOCK_VARIABLES, ctx, name);

/** One proxy, with the localconfig given. */
function setup(localConfig: Record<string, string>) {
  const servers = [server('proxy1.example.com', { zimbraServiceEnabled: ['proxy'] })];
  return context({
    snapshot: snapshot({ servers }),
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
