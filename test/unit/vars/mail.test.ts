import { describe, expect, it } from 'vitest';
import { MAIL_VARIABLES } from '../../../src/vars/mail.js';
import type { VariableDefinition } from '../../../src/vars/types.js';
import type { Attrs } from '../../helpers/builders.js';
import { context, globalConfig, server, snapshot } from '../../helpers/builders.js';

function variable(name: string): VariableDefinition {
  const found = MAIL_VARIABLES.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no variable ${name}`);
  return found;
}

function run(gc: Attrs = {}, own: Attrs = {}, localConfig: Record<string, string> = {}) {
  return context({
    snapshot: snapshot({ globalConfig: globalConfig(gc), servers: [server('p1', own)] }),
    localConfig,
  });
}

describe('server-sourced mail settings', () => {
  it.each([
    {
      name: 'mail.enabled',
      attribute: 'zimbraReverseProxyMailEnabled',
      default: '',
      set: 'FALSE',
      expected: '#',
    },
    {
      name: 'mail.imap.enabled',
      attribute: 'zimbraReverseProxyMailImapEnabled',
      default: '',
      set: 'FALSE',
      expected: '#',
    },
    {
      name: 'mail.imaps.enabled',
      attribute: 'zimbraReverseProxyMailImapsEnabled',
      default: '',
      set: 'FALSE',
      expected: '#',
    },
    {
      name: 'mail.pop3.enabled',
      attribute: 'zimbraReverseProxyMailPop3Enabled',
      default: '',
      set: 'FALSE',
      expected: '#',
    },
    {
      name: 'mail.pop3s.enabled',
      attribute: 'zimbraReverseProxyMailPop3sEnabled',
      default: '',
      set: 'FALSE',
      expected: '#',
    },
    {
      name: 'mail.passerrors',
      attribute: 'zimbraReverseProxyPassErrors',
      default: 'on',
      set: 'FALSE',
      expected: 'off',
    },
    {
      name: 'mail.proxy.ssl',
      attribute: 'zimbraReverseProxySSLToUpstreamEnabled',
      default: 'on',
      set: 'FALSE',
      expected: 'off',
    },
    {
      name: 'mail.imap.authplain.enabled',
      attribute: 'zimbraReverseProxyImapSaslPlainEnabled',
      default: '',
      set: 'FALSE',
      expected: '#',
    },
    {
      name: 'mail.imap.authgssapi.enabled',
      attribute: 'zimbraReverseProxyImapSaslGssapiEnabled',
      default: '#',
      set: 'TRUE',
      expected: '',
    },
    {
      name: 'mail.pop3.authplain.enabled',
      attribute: 'zimbraReverseProxyPop3SaslPlainEnabled',
      default: '',
      set: 'FALSE',
      expected: '#',
    },
    {
      name: 'mail.pop3.authgssapi.enabled',
      attribute: 'zimbraReverseProxyPop3SaslGssapiEnabled',
      default: '#',
      set: 'TRUE',
      expected: '',
    },
    {
      name: 'mail.imap.port',
      attribute: 'zimbraImapProxyBindPort',
      default: '143',
      set: '1143',
      expected: '1143',
    },
    {
      name: 'mail.imaps.port',
      attribute: 'zimbraImapSSLProxyBindPort',
      default: '993',
      set: '1993',
      expected: '1993',
    },
    {
      name: 'mail.pop3.port',
      attribute: 'zimbraPop3ProxyBindPort',
      default: '110',
      set: '1110',
      expected: '1110',
    },
    {
      name: 'mail.pop3s.port',
      attribute: 'zimbraPop3SSLProxyBindPort',
      default: '995',
      set: '1995',
      expected: '1995',
    },
    {
      name: 'mail.imap.tls',
      attribute: 'zimbraReverseProxyImapStartTlsMode',
      default: 'only',
      set: 'OFF',
      expected: 'off',
    },
    {
      name: 'mail.pop3.tls',
      attribute: 'zimbraReverseProxyPop3StartTlsMode',
      default: 'only',
      set: 'on',
      expected: 'on',
    },
    {
      name: 'mail.defaultrealm',
      attribute: 'zimbraReverseProxyDefaultRealm',
      default: '',
      set: 'EXAMPLE.COM',
      expected: 'EXAMPLE.COM',
    },
  ])('formats $name from the server, falling back to the global config', (c) => {
    const v = variable(c.name);
    expect(v.attribute).toBe(c.attribute);
    expect(v.source).toBe('server');
    expect(v.defaultText).toBe(c.default);
    expect(v.compute(run().ctx)).toBe(c.default);
    const inherited = run({ [c.attribute]: c.set });
    expect(v.compute(inherited.ctx)).toBe(c.expected);
    const overridden = run({ [c.attribute]: 'junk' }, { [c.attribute]: c.set });
    expect(v.compute(overridden.ctx)).toBe(c.expected);
    expect(inherited.problems).toEqual([]);
    expect(overridden.problems).toEqual([]);
  });

  it.each([
    { attribute: 'zimbraReverseProxyMailEnabled', value: 'yes' },
    { attribute: 'zimbraImapProxyBindPort', value: '143;' },
    { attribute: 'zimbraReverseProxyImapStartTlsMode', value: 'sometimes' },
  ])('reports $attribute = $value and uses the code default', ({ attribute, value }) => {
    const v = MAIL_VARIABLES.find((d) => d.attribute === attribute)!;
    const handle = run({}, { [attribute]: value });
    expect(v.compute(handle.ctx)).toBe(v.defaultText);
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: attribute, entry: 'server p1', value }),
    ]);
  });

  it('escapes a default realm for the quotes the template puts around it', () => {
    const handle = run({}, { zimbraReverseProxyDefaultRealm: 'A "B" C\\D' });
    expect(variable('mail.defaultrealm').compute(handle.ctx)).toBe('A \\"B\\" C\\\\D');
  });
});

describe('global-config mail settings', () => {
  it.each([
    { name: 'mail.upstream.pop3xoip', attribute: 'zimbraReverseProxySendPop3Xoip' },
    { name: 'mail.upstream.imapid', attribute: 'zimbraReverseProxySendImapId' },
  ])('reads $name from the global config only', (c) => {
    const v = variable(c.name);
    expect(v.defaultText).toBe('on');
    expect(v.compute(run().ctx)).toBe('on');
    expect(v.compute(run({ [c.attribute]: 'FALSE' }, { [c.attribute]: 'TRUE' }).ctx)).toBe('off');
  });
});

describe('banners and IMAP ID', () => {
  const version = { zimbraServerVersion: '10.1.0_GA_4633' };

  it('shows no version in the banners by default', () => {
    expect(variable('mail.imap.greeting').compute(run({}, version).ctx)).toBe('');
    expect(variable('mail.pop3.greeting').compute(run({}, version).ctx)).toBe('');
  });

  it('names the server version in the banners when exposing it is on', () => {
    const handle = run(
      { zimbraReverseProxyImapExposeVersionOnBanner: 'TRUE' },
      { ...version, zimbraReverseProxyPop3ExposeVersionOnBanner: 'TRUE' },
    );
    expect(variable('mail.imap.greeting').compute(handle.ctx)).toBe(
      '* OK Zimbra 10.1.0_GA_4633 IMAP4 ready',
    );
    expect(variable('mail.pop3.greeting').compute(handle.ctx)).toBe(
      '+OK Zimbra 10.1.0_GA_4633 POP3 ready',
    );
  });

  it('answers IMAP ID with the server version and its release part', () => {
    expect(variable('mail.imapid').compute(run({}, version).ctx)).toBe(
      '"NAME" "Zimbra" "VERSION" "10.1.0_GA_4633" "RELEASE" "GA_4633"',
    );
  });

  it('says unknown when serverSource has no version', () => {
    const handle = run({ zimbraReverseProxyImapExposeVersionOnBanner: 'TRUE' });
    expect(variable('mail.imapid').compute(handle.ctx)).toBe(
      '"NAME" "Zimbra" "VERSION" "unknown" "RELEASE" "unknown"',
    );
    expect(variable('mail.imap.greeting').compute(handle.ctx)).toBe(
      '* OK Zimbra unknown IMAP4 ready',
    );
  });

  it('reports a server version that would break out of its quotes', () => {
    const handle = run({}, { zimbraServerVersion: '10" "EVIL' });
    expect(variable('mail.imapid').compute(handle.ctx)).toBe(
      '"NAME" "Zimbra" "VERSION" "unknown" "RELEASE" "unknown"',
    );
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraServerVersion', entry: 'server p1' }),
    ]);
  });
});

describe('capabilities', () => {
  const imap = variable('mail.imapcapa');
  const pop3 = variable('mail.pop3capa');

  it("uses ProxyConfGen's own capability lists when none is configured", () => {
    expect(imap.compute(run().ctx)).toBe(
      ' "IMAP4rev1" "ID" "LITERAL+" "SASL-IR" "IDLE" "NAMESPACE"',
    );
    expect(pop3.compute(run().ctx)).toBe(' "TOP" "USER" "UIDL" "EXPIRE 31 USER"');
    expect(imap.defaultText).toBe(imap.compute(run().ctx));
  });

  it('quotes each configured capability, the server list replacing the global one', () => {
    const handle = run(
      {
        zimbraReverseProxyPop3EnabledCapability: ['TOP', 'USER', 'UIDL', 'EXPIRE 31 USER', 'XOIP'],
      },
      { zimbraReverseProxyImapEnabledCapability: ['IMAP4rev1', 'IDLE'] },
    );
    expect(imap.compute(handle.ctx)).toBe(' "IMAP4rev1" "IDLE"');
    expect(pop3.compute(handle.ctx)).toBe(' "TOP" "USER" "UIDL" "EXPIRE 31 USER" "XOIP"');
  });

  it.each(['ID"; include /etc/passwd; "', 'IDLE;', 'X{', 'A\nB', 'BS\\'])(
    'reports the capability %j and leaves it out',
    (hostile) => {
      const handle = run({ zimbraReverseProxyImapEnabledCapability: ['IMAP4rev1', hostile] });
      expect(imap.compute(handle.ctx)).toBe(' "IMAP4rev1"');
      expect(handle.problems).toEqual([
        expect.objectContaining({
          subject: 'zimbraReverseProxyImapEnabledCapability',
          entry: 'global config',
          value: hostile,
        }),
      ]);
    },
  );
});

describe('constants and localconfig', () => {
  it('derives the Kerberos principal from the interface address only when localconfig says so', () => {
    const v = variable('mail.sasl_host_from_ip');
    expect(v.defaultText).toBe('off');
    expect(v.compute(run().ctx)).toBe('off');
    const handle = run({}, {}, { krb5_service_principal_from_interface_address: 'TRUE' });
    expect(v.compute(handle.ctx)).toBe('on');
  });

  it('names nginx as the SASL application and always accepts literal logins', () => {
    expect(variable('mail.saslapp').compute(run().ctx)).toBe('nginx');
    expect(variable('mail.imap.literalauth').compute(run().ctx)).toBe('on');
  });
});

describe('mail module', () => {
  it('defines the 28 mail variables once each and none of ssl.ts', () => {
    const names = MAIL_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(28);
    expect(names).toHaveLength(28);
    expect(names.filter((n) => n.startsWith('mail.ssl.'))).toEqual([]);
  });
});
