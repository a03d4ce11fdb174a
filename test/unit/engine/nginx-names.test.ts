import { describe, expect, it } from 'vitest';
import { assertNginxCanResolve, collectNginxHostnames } from '../../../src/engine/nginx-names.js';

const conf = `upstream zimbra {
    server    mbox1.example.com:8080 fail_timeout=60s;
    server    192.0.2.7:8080;
    server    [2001:db8::1]:8080;
}
server {
    listen 443;
}
upstream zimbra_ssl {
    server    MBOX2.example.com:8443;
}
`;

describe('names nginx resolves itself', () => {
  it('collects the host names of upstream server lines, not addresses', () => {
    expect(collectNginxHostnames([{ content: conf }])).toEqual([
      'mbox1.example.com',
      'mbox2.example.com',
    ]);
  });

  it('names every one this host cannot resolve, with where to fix it', async () => {
    const resolve = (name: string) =>
      name === 'mbox1.example.com' ? Promise.resolve([]) : Promise.reject(new Error('ENOTFOUND'));
    const error = await assertNginxCanResolve([{ content: conf }], resolve).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'E_DNS',
      message: expect.stringContaining('cannot resolve mbox2.example.com, which'),
      hint: expect.stringContaining('add them to /etc/hosts or DNS'),
    });
    await expect(
      assertNginxCanResolve([{ content: conf }], () => Promise.resolve([])),
    ).resolves.toBeUndefined();
  });
});
