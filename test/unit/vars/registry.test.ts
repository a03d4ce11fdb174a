import { describe, expect, it } from 'vitest';
import {
  applyOverrides,
  EXPLODE_VARIABLE_NAMES,
  findVariable,
  formatDefinitions,
  parseOverrides,
  VARIABLE_DEFINITIONS,
} from '../../../src/vars/registry.js';

/** Every ProxyConfGen variable name (docs/zimbra-notes.md "Variables by area"), grouped by area. */
const ZIMBRA_VARIABLES = [
  'core.workdir',
  'core.includes',
  'core.cprefix',
  'core.tprefix',
  'core.ipboth.enabled',
  'core.ipv4only.enabled',
  'core.ipv6only.enabled',
  'main.workers',
  'main.connections',
  'main.loglevel',
  'main.accept_mutex',
  'main.pidfile',
  'main.logfile',
  'main.krb5keytab',
  'main.user',
  'main.group',
  'memcache.:servers',
  'memcache.timeout',
  'memcache.reconnect',
  'memcache.ttl',
  'zmlookup.:handlers',
  'lookup.available',
  'zmlookup.timeout',
  'zmlookup.retryinterval',
  'zmlookup.caching',
  'zmlookup.dpasswd',
  'zmprefix.url',
  'mail.auth_http_timeout',
  'mail.enabled',
  'mail.imap.enabled',
  'mail.imaps.enabled',
  'mail.pop3.enabled',
  'mail.pop3s.enabled',
  'mail.ctimeout',
  'mail.passerrors',
  'mail.proxy.ssl',
  'mail.imap.greeting',
  'mail.pop3.greeting',
  'mail.imapcapa',
  'mail.pop3capa',
  'mail.imapid',
  'mail.defaultrealm',
  'mail.sasl_host_from_ip',
  'mail.saslapp',
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
  'mail.upstream.pop3xoip',
  'mail.upstream.imapid',
  'mail.imap.authplain.enabled',
  'mail.imap.authgssapi.enabled',
  'mail.pop3.authplain.enabled',
  'mail.pop3.authgssapi.enabled',
  'mail.imap.literalauth',
  'mail.authwait',
  'mail.ssl.preferserverciphers',
  'mail.ssl.protocols',
  'mail.ssl.ciphers',
  'mail.ssl.ecdh.curve',
  'mail.imap.port',
  'mail.imaps.port',
  'mail.pop3.port',
  'mail.pop3s.port',
  'mail.imap.tls',
  'mail.pop3.tls',
  'mail.imap.timeout',
  'mail.imap.proxytimeout',
  'mail.pop3.timeout',
  'mail.pop3.proxytimeout',
  'web.enabled',
  'web.available',
  'web.http.enabled',
  'web.https.enabled',
  'web.sso.default.enabled',
  'web.admin.default.enabled',
  'upstream.fair.shm.size',
  'web.server_names.max_size',
  'web.server_names.bucket_size',
  'web.upstream.exactversioncheck',
  'web.upstream.webclient.name',
  'web.upstream.name',
  'web.ssl.upstream.webclient.name',
  'web.ssl.upstream.name',
  'web.upstream.zx.name',
  'web.ssl.upstream.zx.name',
  'web.admin.upstream.adminclient.name',
  'web.admin.upstream.name',
  'web.ews.upstream.name',
  'web.ssl.ews.upstream.name',
  'web.login.upstream.name',
  'web.ssl.login.upstream.name',
  'web.upstream.webclient.:servers',
  'web.upstream.:servers',
  'web.ssl.upstream.webclient.:servers',
  'web.ssl.upstream.:servers',
  'web.upstream.zx.:servers',
  'web.ssl.upstream.zx.:servers',
  'web.admin.upstream.adminclient.:servers',
  'web.admin.upstream.:servers',
  'web.ews.upstream.disable',
  'web.upstream.ewsserver.:servers',
  'web.ssl.upstream.ewsserver.:servers',
  'web.login.upstream.disable',
  'web.upstream.loginserver.:servers',
  'web.ssl.upstream.loginserver.:servers',
  'web.logfile',
  'web.upstream.connect.timeout',
  'web.upstream.read.timeout',
  'web.upstream.send.timeout',
  'web.:error_pages',
  'ssl.clientcertca.enabled',
  'ssl.clientcertca.default',
  'web.upstream.onlyoffice.docservice',
  'web.upstream.onlyoffice.spellchecker',
  'web.http.port',
  'web.https.port',
  'web.http.uport',
  'web.mailmode',
  'web.server_name.default',
  'web.login.upstream.url',
  'web.upstream.target',
  'web.upstream.webclient.target',
  'web.upstream.login.target',
  'web.upstream.ews.target',
  'web.upstream.zx',
  'web.upstream.polling.timeout',
  'web.upstream.noop.timeout',
  'web.upstream.waitset.timeout',
  'web.xmpp.bosh.upstream.disable',
  'web.xmpp.upstream.proto',
  'web.xmpp.local.bind.url',
  'web.xmpp.remote.bind.url',
  'web.xmpp.bosh.hostname',
  'web.xmpp.bosh.port',
  'web.xmpp.bosh.timeout',
  'web.xmpp.bosh.enabled',
  'web.xmpp.bosh.use_ssl',
  'web.ssl.protocols',
  'web.ssl.preferserverciphers',
  'web.ssl.ciphers',
  'web.ssl.ecdh.curve',
  'ssl.session.cachesize',
  'ssl.session.timeout',
  'ssl.crt.default',
  'ssl.key.default',
  'ssl.clientcertmode.default',
  'ssl.clientcertdepth.default',
  'web.ssl.dhparam.file',
  'web.ssl.dhparam.enabled',
  'web.strict.servername',
  'listen.:addresses',
  'web.add.headers.default',
  'web.sso.certauth.port',
  'web.sso.certauth.default.enabled',
  'web.sso.enabled',
  'web.admin.port',
  'web.admin.uport',
  'web.uploadmax',
  'web.http.maxbody',
  'web.https.maxbody',
];

describe('variable registry', () => {
  it('defines every ProxyConfGen variable of the reference, once', () => {
    const names = VARIABLE_DEFINITIONS.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(ZIMBRA_VARIABLES.filter((name) => findVariable(name) === undefined)).toEqual([]);
    expect(ZIMBRA_VARIABLES).toHaveLength(169);
    expect(ZIMBRA_VARIABLES.length + EXPLODE_VARIABLE_NAMES.length).toBe(179);
  });

  it("adds only stock.* names beyond Zimbra's", () => {
    const extra = VARIABLE_DEFINITIONS.map((v) => v.name).filter(
      (name) => !ZIMBRA_VARIABLES.includes(name),
    );
    expect(extra.every((name) => name.startsWith('stock.'))).toBe(true);
  });

  it('documents every variable with a description and a type', () => {
    const undocumented = VARIABLE_DEFINITIONS.filter(
      (v) => v.description.trim() === '' || v.type === undefined,
    );
    expect(undocumented.map((v) => v.name)).toEqual([]);
  });

  it('replaces an existing variable with -c and warns about an unknown one', () => {
    const vars = new Map([['main.workers', '4']]);
    const warnings = applyOverrides(
      vars,
      parseOverrides(['main.workers=2', 'main.wokers=3']).overrides,
    );
    expect(vars.get('main.workers')).toBe('2');
    expect(warnings.map((w) => w.message)).toEqual([
      '-c main.wokers: no such variable, override ignored',
    ]);
  });

  it('rejects -c arguments without a name and =', () => {
    expect(parseOverrides(['=x', 'novalue', 'a=b=c']).errors).toEqual([
      '-c =x: expected name=value',
      '-c novalue: expected name=value',
    ]);
    expect(parseOverrides(['a=b=c']).overrides).toEqual([{ name: 'a', value: 'b=c' }]);
  });

  it('lists definitions sorted by name, with current values when given', () => {
    const text = formatDefinitions(new Map([['core.workdir', '/srv/zimbra']]));
    expect(text.indexOf('NGINX Keyword:         core.cprefix')).toBeLessThan(
      text.indexOf('core.workdir'),
    );
    expect(text).toContain('  Current Value:         /srv/zimbra');
  });

  it('prints a multi-line value so that it reads back exactly, trailing line break included', () => {
    const value = 'server a:1;\n        server b:2;\n';
    const text = formatDefinitions(new Map([['web.upstream.:servers', value]]));
    const block = text.split('NGINX Keyword:         web.upstream.:servers')[1]!;
    const shown = block.split('  Current Value:         \n')[1]!.split('\n\n')[0]!;
    const readBack = shown
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => line.replace(/^ {6}\| ?/, ''))
      .join('\n');
    expect(readBack).toBe(value);
  });
});
