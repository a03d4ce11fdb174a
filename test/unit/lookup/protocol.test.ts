import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_TEMPLATE_DIR } from '../../../src/cli/zmproxyconfgen.js';
import { classifyWebRequest } from '../../../src/lookup/classify-web-request.js';
import type { WebRouteRequest } from '../../../src/lookup/parse-request.js';
import { parseWebRequest } from '../../../src/lookup/parse-request.js';
import {
  ROUTE_KEYED_URIS,
  routeKeyedUri,
  sanitizeAnswerHeaders,
} from '../../../src/lookup/protocol.js';

const template = (name: string): string =>
  readFileSync(join(BUNDLED_TEMPLATE_DIR, name), 'utf8').replace(/\$\{lookup\.available\}/g, '');

/** The `map $request_uri $zmproxy_route_path` entries of the web template. */
function templateKeyedUris(): { match: string; regex: string }[] {
  const text = template('nginx.conf.web.template');
  const block = /map \$request_uri \$zmproxy_route_path \{([^}]*)\}/.exec(text)?.[1];
  if (block === undefined) throw new Error('no $zmproxy_route_path map in nginx.conf.web.template');
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('~'))
    .map((line) => {
      const [pattern = '', value] = line.replace(/;$/, '').split(/\s+/);
      expect(value).toBe('$request_uri');
      const match = pattern.startsWith('~*') ? '~*' : '~';
      return { match, regex: pattern.slice(match.length) };
    });
}

describe('the web route cache key', () => {
  it('keys on exactly the request URIs the classifier reads (template = protocol.ts)', () => {
    expect(templateKeyedUris()).toEqual(ROUTE_KEYED_URIS.map((u) => ({ ...u })));
  });

  it('holds every request input the service decides from', () => {
    const route = template('nginx.conf.web.route.template');
    const key = /proxy_cache_key\s+"([^"]*)"/.exec(route)?.[1] ?? '';
    // What parseWebRequest reads, and the variable of the key that holds it.
    const inputs: Record<string, string> = {
      'Auth-Protocol': '$scheme',
      Host: '$host',
      'Client-IP': '$remote_addr',
      Cookie: '$cookie_ZM_AUTH_TOKEN',
      Authorization: '$http_authorization',
      'X-Original-URI': '$zmproxy_route_path',
    };
    for (const [header, variable] of Object.entries(inputs)) {
      expect(key.split('|')).toContain(variable);
      expect(route).toMatch(new RegExp(`proxy_set_header\\s+${header}\\s`));
    }
    // No other client header reaches the service.
    const forwarded = [...route.matchAll(/proxy_set_header\s+(\S+)/g)].map((m) => m[1]);
    expect(forwarded.sort()).toEqual(
      [
        'Auth-Protocol',
        'Authorization',
        'Client-IP',
        'Connection',
        'Content-Length',
        'Cookie',
        'Host',
        'X-Forwarded-For',
        'X-Original-URI',
        'X-Zmproxy-Key',
      ].sort(),
    );
  });

  const base: WebRouteRequest = {
    uri: '/',
    cookie: undefined,
    authorization: undefined,
    host: 'mail.d.test',
    protocol: 'httpssl',
    admin: false,
  };
  const token = `0_ab_${Buffer.from('id=5:u-id1;').toString('hex')}`;

  it.each([
    '/HOME/bob/',
    '/Home/bob/inbox',
    '/service/HOME/bob/',
    '/DAV/bob/Calendar',
    `/login?zauthtoken=${token}`,
    `/js/app.js?x=1&zauthtoken=${token}`,
  ])('classifies %s only because the key holds it', (uri) => {
    expect(routeKeyedUri(uri)).toBe(uri);
    expect(classifyWebRequest({ ...base, uri }).kind).not.toBe('none');
  });

  it('gives every URI the key holds as "" one decision: that of "/"', () => {
    const uris = ['/', '/js/app.js', '/login?x=1', '/x/home/bob/', '/?ZAUTHTOKEN=' + token];
    for (const uri of uris) {
      expect(routeKeyedUri(uri)).toBe('');
      expect(classifyWebRequest({ ...base, uri })).toEqual(classifyWebRequest(base));
    }
  });

  it('reads the auth token cookie as nginx $cookie_ZM_AUTH_TOKEN does (first, any case)', () => {
    const other = `0_ab_${Buffer.from('id=5:u-id2;').toString('hex')}`;
    const request = { ...base, cookie: `zm_auth_token=${token}; ZM_AUTH_TOKEN=${other}` };
    expect(classifyWebRequest(request)).toMatchObject({ kind: 'id', id: 'u-id1' });
  });

  it('takes the client address from Client-IP, never from X-Forwarded-For', () => {
    const request = parseWebRequest({ 'client-ip': '127.0.0.9', 'x-forwarded-for': '10.0.0.1' });
    expect(request.clientIp).toBe('127.0.0.9');
  });
});

describe('sanitizeAnswerHeaders', () => {
  it('replaces line breaks and carries UTF-8 byte for byte', () => {
    expect(sanitizeAnswerHeaders({ 'Auth-Status': 'a\r\nb – c' })).toEqual({
      'Auth-Status': Buffer.from('a  b – c', 'utf8').toString('latin1'),
    });
  });
});
