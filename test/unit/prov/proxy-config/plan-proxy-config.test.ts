import { describe, expect, it } from 'vitest';
import { ProblemsError, ProxyConfError } from '../../../../src/errors.js';
import type { DirectorySnapshot } from '../../../../src/model/snapshot.js';
import {
  checkProxyConfigFlags,
  parseProxyConfigFlags,
} from '../../../../src/prov/proxy-config/parse-flags.js';
import {
  formatProvLines,
  planProxyConfig,
  ProxyConfigUsageError,
} from '../../../../src/prov/proxy-config/plan-proxy-config.js';
import type { Attrs } from '../../../helpers/builders.js';
import { globalConfig, server, snapshot } from '../../../helpers/builders.js';

const GC = globalConfig({
  zimbraReverseProxySSLToUpstreamEnabled: 'TRUE',
  zimbraMailMode: 'https',
  zimbraReverseProxyHttpEnabled: 'TRUE',
  zimbraReverseProxyMailEnabled: 'TRUE',
});
const A = 'a.example.com';
const B = 'b.example.com';
const C = 'c.example.com';

function directory(extra: { a?: Attrs; b?: Attrs; c?: Attrs; gc?: Attrs } = {}): DirectorySnapshot {
  return snapshot({
    globalConfig: extra.gc === undefined ? GC : globalConfig({ ...GC.attrs, ...extra.gc }),
    servers: [
      server(A, {
        zimbraServiceInstalled: ['mailbox', 'proxy'],
        zimbraServiceEnabled: ['mailbox'],
        ...extra.a,
      }),
      server(B, {
        zimbraServiceInstalled: ['mailbox'],
        zimbraServiceEnabled: ['mailbox'],
        ...extra.b,
      }),
      server(C, {
        zimbraServiceInstalled: ['proxy'],
        zimbraServiceEnabled: ['memcached'],
        ...extra.c,
      }),
    ],
  });
}

function flagsOf(args: string) {
  const parsed = parseProxyConfigFlags(args.split(' ').filter((word) => word !== ''));
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.flags;
}

/** The writes of a plan as `dn-less` strings: `=attr value`, `+attr value`, `-attr value`. */
function writes(args: string, snap = directory()): string[] {
  const plan = planProxyConfig(flagsOf(`${args} -r`), snap, new Map());
  return plan.modifications.flatMap((modification) =>
    modification.changes.map((change) => {
      const op = { replace: '=', add: '+', delete: '-' }[change.operation];
      const where = modification.dn === 'cn=config,cn=zimbra' ? 'gc ' : '';
      return `${where}${op}${change.attribute} ${change.values.join(',')}`;
    }),
  );
}

function failure(args: string, snap = directory(), lc = new Map<string, string>()): string {
  try {
    planProxyConfig(flagsOf(args), snap, lc);
  } catch (error) {
    if (error instanceof ProxyConfigUsageError || error instanceof ProxyConfError)
      return error.message;
    throw error;
  }
  throw new Error('expected a failure');
}

const set = (attr: string, value: string) => `=${attr} ${value}`;
const ports = (attrs: readonly string[], values: string) =>
  attrs.map((attr, i) => set(attr, values.split(':')[i] as string));
const MAIL = [
  'zimbraImapBindPort',
  'zimbraImapProxyBindPort',
  'zimbraImapSSLBindPort',
  'zimbraImapSSLProxyBindPort',
];
const POP = [
  'zimbraPop3BindPort',
  'zimbraPop3ProxyBindPort',
  'zimbraPop3SSLBindPort',
  'zimbraPop3SSLProxyBindPort',
];
const WEB = [
  'zimbraMailPort',
  'zimbraMailProxyPort',
  'zimbraMailSSLPort',
  'zimbraMailSSLProxyPort',
];
const MAIL_ON = [...ports(MAIL, '7143:143:7993:993'), ...ports(POP, '7110:110:7995:995')];
const MAIL_OFF = [...ports(MAIL, '143:7143:993:7993'), ...ports(POP, '110:7110:995:7995')];
const WEB_ON = ports(WEB, '8080:80:8443:443');
const WEB_OFF = ports(WEB, '80:0:443:0');
const CLEARTEXT = (value: string) => [
  set('zimbraImapCleartextLoginEnabled', value),
  set('zimbraPop3CleartextLoginEnabled', value),
];
const ADMIN = (on: string, n1 = '7071', n2 = '9071') => [
  set('zimbraReverseProxyAdminEnabled', on),
  set('zimbraAdminPort', n1),
  set('zimbraAdminProxyPort', n2),
];
const SSL = (value = 'TRUE') => set('zimbraReverseProxySSLToUpstreamEnabled', value);

describe('zmproxyconfig validation (docs/zimbra-notes.md "zmproxyconfig", in order)', () => {
  const cases: [string, string][] = [
    ['-h -e -m -H a', 'usage'],
    ['-e -m', 'Error: -H <host> is required.'],
    ['-e -d -m -H a', 'Error: -d and -e cannot be given together.'],
    ['-m -H a', 'Error: give -e to enable or -d to disable the proxy (or -f for a full reset).'],
    ['-e -H a', 'Error: give -m (mail proxy) and/or -w (web proxy).'],
    ['-f -e -H a', 'Error: give -m (mail proxy) and/or -w (web proxy).'],
    ['-f -i 1:2:3:4 -H a', 'Error: -a, -i and -p need -e or -d.'],
    ['-e -w -p 1:2:3:4 -H a', 'Error: -i and -p configure the mail proxy and need -m.'],
    ['-e -m -a 1:2:3:4 -H a', 'Error: -a configures the web proxy and needs -w.'],
    ['-e -m -x https -H a', 'Note that -x requires -w'],
    ['-e -m -t -H a', 'Error: -t is only valid with -d.'],
    [
      '-e -m -C -H a',
      'Error: web proxy configure should be specified (-w) before admin console proxy is configured.',
    ],
    [
      '-e -w -n 1:2 -H a',
      'Error: admin console proxy ports should be configured when admin console proxy is configured (-C/-c).',
    ],
    [
      '-d -w -C -H a',
      "Error: when disable web proxy, you can't enable admin console proxy. Leave -C out (the admin console proxy is disabled with the web proxy).",
    ],
    [
      '-d -w -U -H a',
      'Error: it\'s meaningful to specify "SSL to upstream" configure only when enable proxy (-e).',
    ],
    ['-e -w -u -U -H a', "Error: -u and -U can't be set together."],
  ];
  it.each(cases)('%s → %s', (args, message) => {
    expect(checkProxyConfigFlags(flagsOf(args)) || 'usage').toBe(message);
  });

  it('checks the first failing rule only (missing -H before -d/-e conflict)', () => {
    expect(checkProxyConfigFlags(flagsOf('-e -d'))).toBe('Error: -H <host> is required.');
  });

  it('refuses a proxy mail mode without SSL when SSL to upstream is on (item 14)', () => {
    expect(failure(`-e -w -x http -H ${A} -r`)).toBe(
      'Error: proxy mail mode http is invalid when SSL to upstream is enabled',
    );
    expect(
      failure(
        `-e -w -x both -U -H ${A} -r`,
        directory({ gc: { zimbraReverseProxySSLToUpstreamEnabled: 'FALSE' } }),
      ),
    ).toMatch(/mode both is invalid/);
    expect(() =>
      planProxyConfig(flagsOf(`-e -w -x http -u -H ${A} -r`), directory(), new Map()),
    ).not.toThrow();
  });

  it('refuses positional arguments (item 15)', () => {
    expect(failure(`-e -w -H ${A} -r extra`)).toBe('Error: unexpected argument extra.');
  });

  it('refuses a remote host without -r, comparing names without case (item 16)', () => {
    expect(failure(`-e -w -H ${A}`)).toBe('Must use -r option to modify a remote host.');
    const lc = new Map([['zimbra_server_hostname', 'A.EXAMPLE.COM']]);
    expect(() => planProxyConfig(flagsOf(`-e -w -H ${A}`), directory(), lc)).not.toThrow();
  });

  it('refuses a host with neither package installed (item 17)', () => {
    const snap = directory({ b: { zimbraServiceInstalled: ['mta'] } });
    expect(failure(`-e -w -H ${B} -r`, snap)).toMatch(
      /^Error: neither zimbra-store nor zimbra-proxy is installed on b\.example\.com/,
    );
  });

  it('refuses an unknown host, listing the servers', () => {
    expect(failure(`-e -w -H nope.example.com -r`)).toBe('no such server: nope.example.com');
  });

  it('refuses malformed port lists', () => {
    expect(failure(`-e -w -a 1:2:3 -H ${A} -r`)).toBe(
      'Error: -a needs 4 ports as w1:w2:w3:w4 (got "1:2:3").',
    );
  });

  it('validates every value against the catalog and writes nothing', () => {
    expect(() =>
      planProxyConfig(flagsOf(`-d -w -x fancy -a 1:2:3:99999 -H ${A} -r`), directory(), new Map()),
    ).toThrow(ProblemsError);
  });
});

describe('zmproxyconfig enable (docs/zimbra-notes.md "zmproxyconfig")', () => {
  it('case A -m', () => {
    expect(writes(`-e -m -H ${A}`)).toEqual([
      ...MAIL_ON,
      ...CLEARTEXT('TRUE'),
      set('zimbraReverseProxyLookupTarget', 'TRUE'),
      set('zimbraReverseProxyMailEnabled', 'TRUE'),
      SSL(),
      `+zimbraServiceEnabled proxy`,
    ]);
  });

  it('case A -w: store mode https, proxy mode https with SSL to upstream', () => {
    expect(writes(`-e -w -H ${A}`)).toEqual([
      set('zimbraMailReferMode', 'reverse-proxied'),
      ...WEB_ON,
      set('zimbraMailMode', 'https'),
      set('zimbraReverseProxyMailMode', 'https'),
      set('zimbraReverseProxyLookupTarget', 'TRUE'),
      set('zimbraReverseProxyHttpEnabled', 'TRUE'),
      SSL(),
      `+zimbraServiceEnabled proxy`,
    ]);
  });

  it('case A -w -C with ports, -x and -u, proxy already enabled', () => {
    const snap = directory({
      a: { zimbraServiceEnabled: ['mailbox', 'proxy'], zimbraMailMode: 'both' },
    });
    expect(writes(`-e -w -C -n 7000:9000 -x redirect -u -a 1:2:3:4 -H ${A}`, snap)).toEqual([
      set('zimbraMailReferMode', 'reverse-proxied'),
      ...ports(WEB, '1:2:3:4'),
      set('zimbraMailMode', 'http'),
      set('zimbraReverseProxyMailMode', 'redirect'),
      set('zimbraReverseProxyLookupTarget', 'TRUE'),
      set('zimbraReverseProxyHttpEnabled', 'TRUE'),
      ...ADMIN('TRUE', '7000', '9000'),
      SSL('FALSE'),
    ]);
  });

  it('keeps a store mode of both or http as both when SSL to upstream is on (docs/zimbra-notes.md "zmproxyconfig")', () => {
    const snap = directory({ a: { zimbraMailMode: 'http' } });
    expect(writes(`-e -w -H ${A}`, snap)).toContain(set('zimbraMailMode', 'both'));
    expect(
      writes(`-e -w -U -x https -H ${A}`, directory({ a: { zimbraMailMode: 'mixed' } })),
    ).toContain(set('zimbraMailMode', 'https'));
  });

  it('case B -m -w', () => {
    expect(writes(`-e -m -w -H ${B}`)).toEqual([
      ...MAIL_ON,
      ...CLEARTEXT('TRUE'),
      set('zimbraReverseProxyLookupTarget', 'TRUE'),
      set('zimbraMailReferMode', 'reverse-proxied'),
      ...WEB_ON,
      set('zimbraMailMode', 'https'),
      SSL(),
    ]);
  });

  it('case B -w -C writes the admin ports', () => {
    expect(writes(`-e -w -C -H ${B}`)).toEqual([
      set('zimbraMailReferMode', 'reverse-proxied'),
      ...WEB_ON,
      set('zimbraReverseProxyLookupTarget', 'TRUE'),
      set('zimbraMailMode', 'https'),
      ...ADMIN('TRUE'),
      SSL(),
    ]);
  });

  it('case B -w -c writes zimbraAdminPort n1, not n2 (fix of docs/zimbra-notes.md quirk 17)', () => {
    expect(writes(`-e -w -c -n 7071:9071 -H ${B}`)).toEqual(
      expect.arrayContaining([...ADMIN('FALSE', '7071', '9071')]),
    );
    expect(writes(`-e -w -c -H ${B}`)).not.toContain(set('zimbraAdminPort', '9071'));
  });

  it('case B needs the mailbox service enabled, or -o', () => {
    const snap = directory({ b: { zimbraServiceEnabled: ['mta'] } });
    expect(failure(`-e -m -H ${B} -r`, snap)).toMatch(
      /installed on b\.example\.com but not enabled \(zimbraServiceEnabled\); give -o/,
    );
    expect(writes(`-e -m -o -H ${B}`, snap)).toEqual([
      ...MAIL_ON,
      ...CLEARTEXT('TRUE'),
      set('zimbraReverseProxyLookupTarget', 'TRUE'),
      SSL(),
    ]);
  });

  it('case C -m -w -c', () => {
    expect(writes(`-e -m -w -c -H ${C}`)).toEqual([
      ...MAIL_ON,
      set('zimbraReverseProxyMailEnabled', 'TRUE'),
      ...WEB_ON,
      set('zimbraReverseProxyMailMode', 'https'),
      set('zimbraReverseProxyHttpEnabled', 'TRUE'),
      ...ADMIN('FALSE'),
      SSL(),
      '+zimbraServiceEnabled proxy',
    ]);
  });

  it('case C without SSL to upstream: proxy mode http', () => {
    expect(writes(`-e -w -u -H ${C}`)).toContain(set('zimbraReverseProxyMailMode', 'http'));
  });
});

describe('zmproxyconfig disable (docs/zimbra-notes.md "zmproxyconfig")', () => {
  const enabledA = { zimbraServiceEnabled: ['mailbox', 'proxy'] };

  it('case A -m -s: mail off, cleartext off; web still on, so the proxy service stays', () => {
    expect(writes(`-d -m -s -H ${A}`, directory({ a: enabledA }))).toEqual([
      ...MAIL_OFF,
      set('zimbraReverseProxyMailEnabled', 'FALSE'),
      ...CLEARTEXT('FALSE'),
    ]);
  });

  it('case A -m -w: both off, so the proxy service and lookup target go (decided from pending values, fix of docs/zimbra-notes.md quirk 18)', () => {
    expect(writes(`-d -m -w -x https -H ${A}`, directory({ a: enabledA }))).toEqual([
      ...MAIL_OFF,
      set('zimbraReverseProxyMailEnabled', 'FALSE'),
      set('zimbraMailReferMode', 'wronghost'),
      ...WEB_OFF,
      set('zimbraMailMode', 'https'),
      set('zimbraReverseProxyMailMode', 'https'),
      set('zimbraReverseProxyHttpEnabled', 'FALSE'),
      ...ADMIN('FALSE'),
      '-zimbraServiceEnabled proxy',
      set('zimbraReverseProxyLookupTarget', 'FALSE'),
    ]);
  });

  it('case A -w with mail already off in the directory turns everything off', () => {
    const snap = directory({ a: { ...enabledA, zimbraReverseProxyMailEnabled: 'FALSE' } });
    expect(writes(`-d -w -c -n 1:2 -H ${A}`, snap)).toEqual([
      set('zimbraMailReferMode', 'wronghost'),
      ...WEB_OFF,
      set('zimbraMailMode', 'http'),
      set('zimbraReverseProxyMailMode', 'http'),
      set('zimbraReverseProxyHttpEnabled', 'FALSE'),
      ...ADMIN('FALSE', '1', '2'),
      '-zimbraServiceEnabled proxy',
      set('zimbraReverseProxyLookupTarget', 'FALSE'),
    ]);
  });

  it('case B -m -w -s -t', () => {
    expect(writes(`-d -m -w -s -t -H ${B}`)).toEqual([
      ...MAIL_OFF,
      ...CLEARTEXT('FALSE'),
      set('zimbraMailReferMode', 'wronghost'),
      ...WEB_OFF,
      set('zimbraMailMode', 'http'),
      ...ADMIN('FALSE'),
      set('zimbraReverseProxyLookupTarget', 'FALSE'),
    ]);
  });

  it('case C -m -w removes the proxy service when it is enabled', () => {
    const snap = directory({ c: { zimbraServiceEnabled: ['proxy', 'memcached'] } });
    expect(writes(`-d -m -w -s -H ${C}`, snap)).toEqual([
      ...MAIL_OFF,
      set('zimbraReverseProxyMailEnabled', 'FALSE'),
      ...WEB_OFF,
      set('zimbraReverseProxyMailMode', 'http'),
      set('zimbraReverseProxyHttpEnabled', 'FALSE'),
      ...ADMIN('FALSE'),
      '-zimbraServiceEnabled proxy',
    ]);
  });

  it('case C -w alone keeps the proxy service while mail stays on', () => {
    const snap = directory({ c: { zimbraServiceEnabled: ['proxy'] } });
    expect(writes(`-d -w -H ${C}`, snap)).not.toContain('-zimbraServiceEnabled proxy');
  });
});

describe('zmproxyconfig -f (full reset)', () => {
  const RESET = [
    'gc =zimbraReverseProxyDomainNameQuery (&(zimbraVirtualIPAddress=${IPADDR})(objectClass=zimbraDomain))',
    'gc =zimbraReverseProxyMailHostQuery (|(zimbraMailDeliveryAddress=${USER})(zimbraMailAlias=${USER})(zimbraId=${USER}))',
    'gc =zimbraReverseProxyPortQuery (&(zimbraServiceHostname=${MAILHOST})(objectClass=zimbraServer))',
    'gc =zimbraMemcachedBindPort 11211',
    'gc =zimbraReverseProxyMailHostAttribute zimbraMailHost',
    'gc =zimbraReverseProxyPop3PortAttribute zimbraPop3BindPort',
    'gc =zimbraReverseProxyPop3SSLPortAttribute zimbraPop3SSLBindPort',
    'gc =zimbraReverseProxyImapPortAttribute zimbraImapBindPort',
    'gc =zimbraReverseProxyImapSSLPortAttribute zimbraImapSSLBindPort',
    'gc =zimbraReverseProxyDomainNameAttribute zimbraDomainName',
    'gc =zimbraReverseProxyAuthWaitInterval 10s',
    'gc =zimbraReverseProxyIPLoginLimit 0',
    'gc =zimbraReverseProxyIPLoginLimitTime 3600',
    'gc =zimbraReverseProxyUserLoginLimit 0',
    'gc =zimbraReverseProxyUserLoginLimitTime 3600',
  ];

  it('alone writes only the global config', () => {
    expect(writes(`-f -H ${A}`)).toEqual(RESET);
  });

  it('with -e -m writes the reset and the server', () => {
    expect(writes(`-f -e -m -H ${B}`)).toEqual([
      ...RESET,
      ...MAIL_ON,
      ...CLEARTEXT('TRUE'),
      set('zimbraReverseProxyLookupTarget', 'TRUE'),
      SSL(),
    ]);
  });
});

describe('formatProvLines', () => {
  it('prints the zmprov commands the script would run, quoted for a shell', () => {
    const plan = planProxyConfig(flagsOf(`-f -e -m -H ${C} -r`), directory(), new Map());
    const text = formatProvLines(plan.lines);
    expect(text.split('\n')[0]).toMatch(
      /^zmprov -l mcf zimbraReverseProxyDomainNameQuery '\(&\(zimbraVirtualIPAddress=\$\{IPADDR\}\)\(objectClass=zimbraDomain\)\)' /,
    );
    expect(text).toContain(
      'zmprov -l ms c.example.com zimbraImapBindPort 7143 zimbraImapProxyBindPort 143',
    );
    expect(text).toContain(
      'zimbraReverseProxySSLToUpstreamEnabled TRUE +zimbraServiceEnabled proxy\n',
    );
  });
});
