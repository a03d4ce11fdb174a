import { describe, expect, it } from 'vitest';
import { TIMEOUTS_VARIABLES } from '../../../src/vars/timeouts.js';
import type { VariableDefinition } from '../../../src/vars/types.js';
import { context, globalConfig, server, snapshot } from '../../helpers/builders.js';

function variable(name: string): VariableDefinition {
  const found = TIMEOUTS_VARIABLES.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no variable ${name}`);
  return found;
}

const empty = () => context({ snapshot: snapshot({ servers: [server('p1')] }) });

describe('attribute timeouts', () => {
  it.each([
    {
      name: 'zmlookup.timeout',
      attribute: 'zimbraReverseProxyRouteLookupTimeout',
      default: '15000ms',
      set: '20s',
      expected: '20000ms',
    },
    {
      name: 'zmlookup.retryinterval',
      attribute: 'zimbraReverseProxyRouteLookupTimeoutCache',
      default: '60000ms',
      set: '90',
      expected: '90000ms',
    },
    {
      name: 'mail.auth_http_timeout',
      attribute: 'zimbraReverseProxyRouteLookupTimeout',
      default: '15000ms',
      set: '500ms',
      expected: '500ms',
    },
    {
      name: 'mail.ctimeout',
      attribute: 'zimbraReverseProxyConnectTimeout',
      default: '120000ms',
      set: '1m',
      expected: '60000ms',
    },
    {
      name: 'web.upstream.connect.timeout',
      attribute: 'zimbraReverseProxyUpstreamConnectTimeout',
      default: '25',
      set: '40',
      expected: '40',
    },
    {
      name: 'web.upstream.read.timeout',
      attribute: 'zimbraReverseProxyUpstreamReadTimeout',
      default: '60',
      set: '2m',
      expected: '120',
    },
    {
      name: 'web.upstream.send.timeout',
      attribute: 'zimbraReverseProxyUpstreamSendTimeout',
      default: '60',
      set: '90s',
      expected: '90',
    },
    {
      name: 'web.upstream.polling.timeout',
      attribute: 'zimbraReverseProxyUpstreamPollingTimeout',
      default: '3600',
      set: '1h',
      expected: '3600',
    },
  ])('formats $name from the server, falling back to the global config', (c) => {
    const v = variable(c.name);
    expect(v.attribute).toBe(c.attribute);
    expect(v.defaultText).toBe(c.default);
    expect(v.compute(empty().ctx)).toBe(c.default);
    const inherited = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ [c.attribute]: c.set }),
        servers: [server('p1')],
      }),
    });
    expect(v.compute(inherited.ctx)).toBe(c.expected);
    const overridden = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ [c.attribute]: '7' }),
        servers: [server('p1', { [c.attribute]: c.set })],
      }),
    });
    expect(v.compute(overridden.ctx)).toBe(c.expected);
    expect(overridden.problems).toEqual([]);
  });

  it('takes the seconds-wrapped code defaults as seconds, not milliseconds (our fix of the 0 quirk)', () => {
    expect(variable('web.upstream.read.timeout').compute(empty().ctx)).toBe('60');
    expect(variable('web.upstream.polling.timeout').compute(empty().ctx)).toBe('3600');
  });

  it('rounds a sub-second upstream timeout down to whole seconds', () => {
    const handle = context({
      snapshot: snapshot({
        servers: [server('p1', { zimbraReverseProxyUpstreamReadTimeout: '1500ms' })],
      }),
    });
    expect(variable('web.upstream.read.timeout').compute(handle.ctx)).toBe('1');
  });

  it('reads the auth wait interval from the global config only', () => {
    const v = variable('mail.authwait');
    expect(v.defaultText).toBe('10000ms');
    expect(v.compute(empty().ctx)).toBe('10000ms');
    const handle = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ zimbraReverseProxyAuthWaitInterval: '3s' }),
        servers: [server('p1', { zimbraReverseProxyAuthWaitInterval: '30s' })],
      }),
    });
    expect(v.compute(handle.ctx)).toBe('3000ms');
  });

  it('reports an upstream connect timeout above the schema maximum of 75', () => {
    const handle = context({
      snapshot: snapshot({
        servers: [server('p1', { zimbraReverseProxyUpstreamConnectTimeout: '90' })],
      }),
    });
    expect(variable('web.upstream.connect.timeout').compute(handle.ctx)).toBe('25');
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraReverseProxyUpstreamConnectTimeout',
        entry: 'server p1',
        value: '90',
      }),
    ]);
  });

  it('reports a malformed duration and uses the code default', () => {
    const handle = context({
      snapshot: snapshot({
        servers: [server('p1', { zimbraReverseProxyConnectTimeout: '2 minutes' })],
      }),
    });
    expect(variable('mail.ctimeout').compute(handle.ctx)).toBe('120000ms');
    expect(handle.problems).toHaveLength(1);
  });

  it('marks mail.auth_http_timeout as unused', () => {
    expect(variable('mail.auth_http_timeout').unused).toBe(true);
  });
});

describe('localconfig timeouts', () => {
  it.each([
    {
      name: 'mail.imap.timeout',
      key: 'imap_max_idle_time',
      default: '60',
      set: '120',
      expected: '120',
    },
    {
      name: 'mail.imap.proxytimeout',
      key: 'imap_authenticated_max_idle_time',
      default: '2100',
      set: '600',
      expected: '900',
    },
    {
      name: 'mail.pop3.timeout',
      key: 'pop3_max_idle_time',
      default: '60',
      set: '30',
      expected: '30',
    },
    {
      name: 'mail.pop3.proxytimeout',
      key: 'pop3_max_idle_time',
      default: '60',
      set: '30',
      expected: '30',
    },
    {
      name: 'web.upstream.noop.timeout',
      key: 'zimbra_noop_max_timeout',
      default: '1220',
      set: '300',
      expected: '320',
    },
    {
      name: 'web.upstream.waitset.timeout',
      key: 'zimbra_waitset_max_request_timeout',
      default: '1220',
      set: '100',
      expected: '120',
    },
  ])('formats $name from localconfig $key plus its offset', (c) => {
    const v = variable(c.name);
    expect(v.attribute).toBe(c.key);
    expect(v.source).toBe('localconfig');
    expect(v.defaultText).toBe(c.default);
    expect(v.compute(empty().ctx)).toBe(c.default);
    const handle = context({
      snapshot: snapshot({ servers: [server('p1')] }),
      localConfig: { [c.key]: c.set },
    });
    expect(v.compute(handle.ctx)).toBe(c.expected);
  });

  it('treats an empty localconfig value as unset', () => {
    const handle = context({
      snapshot: snapshot({ servers: [server('p1')] }),
      localConfig: { imap_authenticated_max_idle_time: '' },
    });
    expect(variable('mail.imap.proxytimeout').compute(handle.ctx)).toBe('2100');
  });

  it.each(['-5', 'ten'])('reports the localconfig timeout %s and uses the default', (value) => {
    const handle = context({
      snapshot: snapshot({ servers: [server('p1')] }),
      localConfig: { zimbra_noop_max_timeout: value },
    });
    expect(variable('web.upstream.noop.timeout').compute(handle.ctx)).toBe('1220');
    expect(handle.problems.map((p) => [p.subject, p.entry, p.value])).toEqual([
      ['zimbra_noop_max_timeout', 'localconfig', value],
    ]);
    expect(handle.problems[0]?.hint).toMatch(/^zmlocalconfig -e zimbra_noop_max_timeout=</);
  });
});

describe('timeouts module', () => {
  it('defines each timeout variable once', () => {
    const names = TIMEOUTS_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(15);
  });
});
