import { describe, expect, it } from 'vitest';
import { classifyWebRequest, tokenAccountId } from '../../../src/lookup/classify-web-request.js';
import type { WebRouteRequest } from '../../../src/lookup/parse-request.js';

const request = (overrides: Partial<WebRouteRequest>): WebRouteRequest => ({
  uri: '/',
  cookie: undefined,
  authorization: undefined,
  host: 'mail.d.test',
  protocol: 'httpssl',
  admin: false,
  ...overrides,
});

const token = (id: string) =>
  `0_abcdef_${Buffer.from(`id=${id.length}:${id};exp=13:1700000000000;`).toString('hex')}`;

describe('classifyWebRequest (zmauth order, docs/zimbra-notes.md "Web request classification")', () => {
  it('reads the user of REST paths, with and without ~', () => {
    expect(classifyWebRequest(request({ uri: '/home/bob/inbox.rss' }))).toEqual({
      kind: 'user',
      name: 'bob',
      source: 'rest',
    });
    expect(
      classifyWebRequest(request({ uri: '/service/home/~bob@d.test/?fmt=ics' })),
    ).toMatchObject({
      name: 'bob@d.test',
    });
  });

  it('falls through /home/~/ to the auth token', () => {
    expect(
      classifyWebRequest(
        request({ uri: '/home/~/inbox', cookie: `ZM_AUTH_TOKEN=${token('id-7')}` }),
      ),
    ).toEqual({ kind: 'id', id: 'id-7', source: 'token' });
  });

  it('reads ActiveSync users from Basic auth (domain\\user) or User=', () => {
    const basic = `Basic ${Buffer.from('d.test\\carol:secret').toString('base64')}`;
    expect(
      classifyWebRequest(
        request({ uri: '/Microsoft-Server-ActiveSync?Cmd=Sync', authorization: basic }),
      ),
    ).toMatchObject({ name: 'carol@d.test', source: 'activesync' });
    expect(
      classifyWebRequest(
        request({ uri: '/Microsoft-Server-ActiveSync?User=dave%40d.test&Cmd=Ping' }),
      ),
    ).toMatchObject({ name: 'dave@d.test' });
  });

  it('reads DAV principals', () => {
    expect(classifyWebRequest(request({ uri: '/dav/erin@d.test/Calendar/' }))).toMatchObject({
      name: 'erin@d.test',
      source: 'dav',
    });
  });

  it('uses only the admin token on admin routes', () => {
    expect(
      classifyWebRequest(
        request({ admin: true, uri: '/home/bob/', cookie: `ZM_ADMIN_AUTH_TOKEN=${token('adm')}` }),
      ),
    ).toEqual({ kind: 'id', id: 'adm', source: 'admin-token' });
  });

  it('names nobody without identity or with a malformed token', () => {
    expect(classifyWebRequest(request({ uri: '/service/soap/' }))).toEqual({ kind: 'none' });
    expect(tokenAccountId('0_x_zz')).toBeUndefined();
    expect(tokenAccountId(undefined)).toBeUndefined();
  });
});
