import { describe, expect, it } from 'vitest';
import {
  decodeAuthHeader,
  encodeAuthHeader,
  parseMailRequest,
  parseWebRequest,
} from '../../../src/lookup/parse-request.js';

/** How node:http hands over header bytes: one Latin-1 character per byte. */
const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

describe('parseMailRequest', () => {
  it('decodes percent-escaped user and password as UTF-8 from stock nginx', () => {
    const parsed = parseMailRequest({
      'auth-method': 'plain',
      'auth-user': latin1('jürgen%20x@example.test'),
      'auth-pass': latin1('p%25ss wörd'),
      'auth-protocol': 'imap',
      'auth-login-attempt': '2',
      'client-ip': '192.0.2.7',
      'auth-ssl': 'on',
    });
    expect(parsed.ok && parsed.request).toMatchObject({
      method: 'plain',
      user: 'jürgen x@example.test',
      password: 'p%ss wörd',
      protocol: 'imap',
      attempt: 2,
      clientIp: '192.0.2.7',
      ssl: true,
    });
  });

  it('asks for the upstream-TLS chain only with X-Zmproxy-Upstream: tls on a mail protocol', () => {
    const base = {
      'auth-method': 'plain',
      'auth-user': 'u@example.test',
      'auth-pass': 'p',
      'auth-protocol': 'imap',
    };
    const chained = parseMailRequest({ ...base, 'x-zmproxy-upstream': 'tls' });
    expect(chained.ok && chained.request.upstreamTls).toBe(true);
    const plain = parseMailRequest(base);
    expect(plain.ok && plain.request.upstreamTls).toBe(false);
    const web = parseMailRequest({ ...base, 'auth-protocol': 'http', 'x-zmproxy-upstream': 'tls' });
    expect(web.ok && web.request.upstreamTls).toBe(false);
  });

  it("accepts Zimbra's methods and protocols without a password to check", () => {
    const parsed = parseMailRequest({
      'auth-method': 'zimbraId',
      'auth-user': 'a0000000-0000-4000-8000-000000000001',
      'auth-pass': '_password_',
      'auth-protocol': 'httpssl',
    });
    expect(parsed.ok && parsed.request.password).toBeUndefined();
    expect(parsed.ok && parsed.request.method).toBe('zimbraId');
  });

  it("answers Zimbra's message for a missing header", () => {
    expect(parseMailRequest({ 'auth-method': 'plain', 'auth-protocol': 'imap' })).toEqual({
      ok: false,
      message: 'missing header field Auth-User',
      attempt: 0,
    });
    expect(
      parseMailRequest({ 'auth-method': 'cram-md5', 'auth-user': 'u', 'auth-protocol': 'imap' }),
    ).toMatchObject({ ok: false, message: 'unsupported authentication method cram-md5' });
    expect(
      parseMailRequest({ 'auth-method': 'plain', 'auth-user': 'u', 'auth-protocol': 'imap' }),
    ).toMatchObject({ ok: false, message: 'missing header field Auth-Pass' });
  });
});

describe('decodeAuthHeader / encodeAuthHeader', () => {
  it('leaves a stray percent sign alone', () => {
    expect(decodeAuthHeader('100%x')).toBe('100%x');
  });

  it('escapes percent before space, so the result decodes back', () => {
    expect(encodeAuthHeader('a b%c')).toBe('a%20b%25c');
    expect(decodeAuthHeader(encodeAuthHeader('ünï cödé%'))).toBe('ünï cödé%');
  });
});

describe('parseWebRequest', () => {
  it('reads the original URI, the host without port and the protocol', () => {
    expect(
      parseWebRequest({
        'x-original-uri': '/home/bob/inbox?fmt=json',
        host: 'Mail.Example.test:8443',
        'auth-protocol': 'http',
      }),
    ).toMatchObject({
      uri: '/home/bob/inbox?fmt=json',
      host: 'mail.example.test',
      protocol: 'http',
    });
  });
});
