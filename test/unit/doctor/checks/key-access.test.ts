import { describe, expect, it } from 'vitest';
import {
  canRead,
  checkKeyAccess,
  parseUserDirective,
  workerIdentity,
} from '../../../../src/doctor/checks/key-access.js';
import type { FileRead } from '../../../../src/doctor/probes/files.js';
import type { FileOwnership } from '../../../../src/doctor/probes/ownership.js';

const text = (path: string, body: string): FileRead => ({
  path,
  ok: true,
  text: body,
  truncated: false,
});
const ACCOUNTS = {
  passwd: text(
    '/etc/passwd',
    'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nzimbra:x:1000:1000::/opt/zimbra:/bin/sh\n',
  ),
  group: text('/etc/group', 'root:x:0:\nnogroup:x:65534:\nzimbra:x:1000:\nssl-cert:x:110:zimbra\n'),
};
const MAIN = text('/z/conf/nginx/current/nginx.conf', 'worker_processes 2;\nevents { }\n');
const MAP = text(
  '/z/conf/nginx/current/includes/nginx.conf.web.certificates',
  'map $ssl_server_name $zmproxy_ssl_certificate_key {\n    default /z/conf/nginx.key;\n}\n',
);
const STATIC = text('/z/conf/nginx/current/includes/nginx.conf.web.certificates', '# static\n');
const key = (path: string, gid: number, mode: number): FileOwnership => ({
  path,
  ok: true,
  uid: 0,
  gid,
  mode,
});

function check(keyFiles: FileOwnership[], overrides: { main?: FileRead; certs?: FileRead } = {}) {
  return checkKeyAccess({
    keyFiles,
    mainConfig: overrides.main ?? MAIN,
    certificatesConfig: overrides.certs ?? MAP,
    accounts: ACCOUNTS,
    nginxGroup: 'nogroup',
    workdir: '/z',
  });
}

describe('checkKeyAccess', () => {
  it('passes keys 0640 in the workers group (nobody:nogroup without a user directive)', () => {
    const findings = check([
      key('/z/conf/nginx.key', 65534, 0o640),
      key('/z/conf/nginx/current/domaincerts/a.example.com.key', 65534, 0o640),
    ]);
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
    expect(findings[0]?.evidence).toContain(
      "nobody (nginx's default (no user directive)) can read all 2 keys",
    );
  });

  it('fails a key only root reads, naming owner, group, mode and the fix', () => {
    const findings = check([
      key('/z/conf/nginx.key', 0, 0o600),
      key('/z/conf/nginx/current/domaincerts/a.example.com.key', 0, 0o640),
    ]);
    expect(findings.map((f) => [f.severity, f.subject])).toEqual([
      ['fail', '/z/conf/nginx.key'],
      ['fail', '/z/conf/nginx/current/domaincerts/a.example.com.key'],
    ]);
    expect(findings[0]?.evidence).toBe(
      "owner root, group root, mode 0600; nginx's workers run as nobody:nogroup (nginx's default (no user directive))",
    );
    expect(findings[0]?.fix).toBe(
      'chgrp nogroup /z/conf/nginx.key && chmod 0640 /z/conf/nginx.key',
    );
    expect(findings[1]?.fix).toBe(
      'zmlocalconfig -e zmproxy_nginx_group=nogroup && zmproxyconfgen --apply -w /z',
    );
  });

  it('reads the user directive: a supplementary group of the user counts', () => {
    const main = text('/z/conf/nginx.conf', 'user zimbra;\nevents { }\n');
    expect(parseUserDirective(main.ok ? main.text : '')).toEqual({
      user: 'zimbra',
      group: 'zimbra',
    });
    const worker = workerIdentity(main, ACCOUNTS);
    expect(worker).toMatchObject({ user: 'zimbra', uid: 1000, gids: [1000, 110] });
    expect(canRead(key('/k', 110, 0o640) as Extract<FileOwnership, { ok: true }>, worker)).toBe(
      true,
    );
    expect(check([key('/k', 65534, 0o640)], { main })[0]?.severity).toBe('fail');
  });

  it('only reports without the certificate map: the master reads the keys at start', () => {
    const findings = check([key('/z/conf/nginx.key', 0, 0o600)], { certs: STATIC });
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
  });
});
