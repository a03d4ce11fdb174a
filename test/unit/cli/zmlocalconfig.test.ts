import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../src/cli/zmlocalconfig.js';
import { runCli, testdir } from '../../helpers/testdir.js';

describe('zmlocalconfig', () => {
  it('sets keys with -e into a 0600 file and reads them back, secrets hidden unless -s', async () => {
    const work = testdir({ 'conf/.keep': '' });
    const set = await runCli(run, [
      '-w',
      work,
      '-e',
      'ldap_url=ldap://127.0.0.1:389',
      'zimbra_ldap_password=a&b<c',
    ]);
    expect(set.code).toBe(0);
    const file = join(work, 'conf/localconfig.xml');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('<value>a&amp;b&lt;c</value>');
    const shown = await runCli(run, ['-w', work, 'ldap_url', 'zimbra_ldap_password']);
    expect(shown.stdout).toBe('ldap_url = ldap://127.0.0.1:389\nzimbra_ldap_password = *\n');
    const secret = await runCli(run, ['-w', work, '-s', '-m', 'nokey', 'zimbra_ldap_password']);
    expect(secret.stdout).toBe('a&b<c\n');
  });

  it('prints defaults for absent keys, expands references with -x, removes keys with -u', async () => {
    const work = testdir({ 'conf/.keep': '' });
    await runCli(run, ['-w', work, '-e', 'zimbra_home=/srv/zimbra', 'x=${zimbra_home}/conf']);
    expect((await runCli(run, ['-w', work, '-m', 'nokey', 'zmproxy_lookup_port'])).stdout).toBe(
      '7077\n',
    );
    expect((await runCli(run, ['-w', work, '-x', '-m', 'nokey', 'x'])).stdout).toBe(
      '/srv/zimbra/conf\n',
    );
    await runCli(run, ['-w', work, '-u', 'x']);
    expect(readFileSync(join(work, 'conf/localconfig.xml'), 'utf8')).not.toContain('"x"');
  });

  it('says how to create a missing localconfig, and refuses an edit without =', async () => {
    const missing = await runCli(run, ['-w', '/nonexistent-zimbra', 'ldap_url']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('hint: zmproxyctl setup -w /nonexistent-zimbra creates it');
    const bad = await runCli(run, ['-w', testdir({}), '-e', 'novalue']);
    expect(bad.code).toBe(2);
  });
});
