import { describe, expect, it } from 'vitest';
import { THROTTLE_VARIABLES } from '../../../src/vars/throttle.js';
import type { VariableDefinition } from '../../../src/vars/types.js';
import type { Attrs } from '../../helpers/builders.js';
import { context, globalConfig, server, snapshot } from '../../helpers/builders.js';

function variable(name: string): VariableDefinition {
  const found = THROTTLE_VARIABLES.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no variable ${name}`);
  return found;
}

function run(gc: Attrs = {}, own: Attrs = {}) {
  return context({
    snapshot: snapshot({ globalConfig: globalConfig(gc), servers: [server('p1', own)] }),
  });
}

describe('login limits', () => {
  it.each([
    {
      name: 'mail.ipmax',
      attribute: 'zimbraReverseProxyIPLoginLimit',
      default: '0',
      set: '100',
      expected: '100',
    },
    {
      name: 'mail.ipttl',
      attribute: 'zimbraReverseProxyIPLoginLimitTime',
      default: '3600000ms',
      set: '600',
      expected: '600000ms',
    },
    {
      name: 'mail.imapmax',
      attribute: 'zimbraReverseProxyIPLoginImapLimit',
      default: '0',
      set: '50',
      expected: '50',
    },
    {
      name: 'mail.imapttl',
      attribute: 'zimbraReverseProxyIPLoginImapLimitTime',
      default: '3600000ms',
      set: '60',
      expected: '60000ms',
    },
    {
      name: 'mail.pop3max',
      attribute: 'zimbraReverseProxyIPLoginPop3Limit',
      default: '0',
      set: '20',
      expected: '20',
    },
    {
      name: 'mail.pop3ttl',
      attribute: 'zimbraReverseProxyIPLoginPop3LimitTime',
      default: '3600000ms',
      set: '120',
      expected: '120000ms',
    },
    {
      name: 'mail.usermax',
      attribute: 'zimbraReverseProxyUserLoginLimit',
      default: '0',
      set: '10',
      expected: '10',
    },
    {
      name: 'mail.userttl',
      attribute: 'zimbraReverseProxyUserLoginLimitTime',
      default: '3600000ms',
      set: '3600',
      expected: '3600000ms',
    },
    {
      name: 'mail.whitelist.ttl',
      attribute: 'zimbraReverseProxyIPThrottleWhitelistTime',
      default: '300',
      set: '10m',
      expected: '600',
    },
  ])('formats $name from the global config and ignores a server value', (c) => {
    const v = variable(c.name);
    expect(v.attribute).toBe(c.attribute);
    expect(v.source).toBe('config');
    expect(v.defaultText).toBe(c.default);
    expect(v.compute(run().ctx)).toBe(c.default);
    const handle = run({ [c.attribute]: c.set }, { [c.attribute]: '1' });
    expect(v.compute(handle.ctx)).toBe(c.expected);
    expect(handle.problems).toEqual([]);
  });

  it('reports a negative login limit', () => {
    const handle = run({ zimbraReverseProxyIPLoginLimit: '-1' });
    expect(variable('mail.ipmax').compute(handle.ctx)).toBe('0');
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraReverseProxyIPLoginLimit',
        entry: 'global config',
        hint: 'zmprov mcf zimbraReverseProxyIPLoginLimit <value>',
      }),
    ]);
  });
});

describe('reject messages', () => {
  it.each([
    {
      name: 'mail.iprej',
      attribute: 'zimbraReverseProxyIpThrottleMsg',
      default: 'Login rejected from this IP',
    },
    {
      name: 'mail.userrej',
      attribute: 'zimbraReverseProxyUserThrottleMsg',
      default: 'Login rejected for this user',
    },
  ])('reads $name from the global config, escaped for its quotes', (c) => {
    const v = variable(c.name);
    expect(v.defaultText).toBe(c.default);
    expect(v.compute(run().ctx)).toBe(c.default);
    const handle = run({ [c.attribute]: 'Go away; say "bye" \\o/' }, { [c.attribute]: 'ignored' });
    expect(v.compute(handle.ctx)).toBe('Go away; say \\"bye\\" \\\\o/');
    expect(handle.problems).toEqual([]);
  });

  it('rejects a reject message with a line break', () => {
    const handle = run({ zimbraReverseProxyIpThrottleMsg: 'no\n}\nmail {' });
    expect(variable('mail.iprej').compute(handle.ctx)).toBe('Login rejected from this IP');
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraReverseProxyIpThrottleMsg',
        entry: 'global config',
      }),
    ]);
  });
});

describe('mail.whitelistip.:servers', () => {
  const whitelist = variable('mail.whitelistip.:servers');

  it('is empty when no address is whitelisted', () => {
    expect(whitelist.defaultText).toBe('');
    expect(whitelist.compute(run().ctx)).toBe('');
  });

  it('writes one directive per address, indenting the following lines by four spaces', () => {
    const handle = run({
      zimbraReverseProxyIPThrottleWhitelist: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'],
    });
    expect(whitelist.compute(handle.ctx)).toBe(
      'mail_whitelist_ip    10.0.0.0/8;\n' +
        '    mail_whitelist_ip    192.0.2.7;\n' +
        '    mail_whitelist_ip    2001:db8::/32;\n',
    );
  });

  it('takes the server list instead of the global list', () => {
    const handle = run(
      { zimbraReverseProxyIPThrottleWhitelist: ['10.0.0.0/8', '10.1.0.0/16'] },
      { zimbraReverseProxyIPThrottleWhitelist: '172.16.0.1' },
    );
    expect(whitelist.compute(handle.ctx)).toBe('mail_whitelist_ip    172.16.0.1;\n');
  });

  it('reports a value that is not an IP address or CIDR block and leaves it out', () => {
    const handle = run(
      {},
      { zimbraReverseProxyIPThrottleWhitelist: ['10.0.0.1; allow all', '10.0.0.0/33', '10.0.0.2'] },
    );
    expect(whitelist.compute(handle.ctx)).toBe('mail_whitelist_ip    10.0.0.2;\n');
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraReverseProxyIPThrottleWhitelist',
        entry: 'server p1',
        value: '10.0.0.1; allow all',
        hint: "zmprov ms p1 -zimbraReverseProxyIPThrottleWhitelist '10.0.0.1; allow all'",
      }),
      expect.objectContaining({ value: '10.0.0.0/33' }),
    ]);
  });
});

describe('throttle module', () => {
  it('defines each throttle variable once', () => {
    expect(THROTTLE_VARIABLES.map((v) => v.name).sort()).toEqual(
      [
        'mail.ipmax',
        'mail.ipttl',
        'mail.imapmax',
        'mail.imapttl',
        'mail.pop3max',
        'mail.pop3ttl',
        'mail.iprej',
        'mail.usermax',
        'mail.userttl',
        'mail.userrej',
        'mail.whitelistip.:servers',
        'mail.whitelist.ttl',
      ].sort(),
    );
  });
});
