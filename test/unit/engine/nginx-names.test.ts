import { describe, expect, it } from 'vitest';
import { assertNginxCanResolve, collectNginxHostnames } from '../../../src/engine/nginx-names.js';
import type { ProxyConfError } from '../../../src/errors.js';

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
    const error = (await assertNginxCanResolve([{ content: conf }], resolve).catch(
      (e: unknown) => e,
    )) as ProxyConfError;
    expect(error.code).toBe('E_DNS');
    expect(error.message).toContain('cannot resolve mbox2.example.com, which');
    expect(error.hint).toContain('add them to /etc/hosts or DNS');
    await expect(
      assertNginxCanResolve([{ content: conf }], () => Promise.resolve([])),
    ).resolves.toBeUndefined();
  });
});
