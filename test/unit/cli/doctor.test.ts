import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../src/cli/doctor.js';
import { captureIo, testdir } from '../../helpers/testdir.js';

const EXAMPLE = join(import.meta.dirname, '../../../fixtures/example');

/**
 * The example's hosts on loopback addresses where nothing listens: the doctor really connects,
 * and tests send traffic to loopback only (the example's own hosts file names TEST-NET addresses).
 */
const LOOPBACK_HOSTS = [
  '127.0.0.71 mbox1.example.com',
  '127.0.0.72 mbox2.example.com',
  '127.0.0.73 mta1.example.com',
  '127.0.0.74 proxy1.example.com mail.example.com webmail.example.com mail.example.org',
].join('\n');

function exampleArgs(): string[] {
  const dir = testdir({ hosts: `${LOOPBACK_HOSTS}\n` });
  return [
    '--source',
    `ldif:${EXAMPLE}/directory.ldif`,
    '--localconfig',
    `${EXAMPLE}/localconfig.xml`,
    '--hosts',
    join(dir, 'hosts'),
    '--hosts-only',
    '--timeout',
    '200',
  ];
}

describe('zmproxy doctor', () => {
  it('prints the JSON report of the example and exits 1 because something fails', async () => {
    const { io, out } = captureIo();
    const code = await run([...exampleArgs(), '-w', testdir(), '--json'], io);
    const report = JSON.parse(out.stdout) as {
      version: number;
      server: string;
      summary: { fail: number };
    };
    expect(report.version).toBe(1);
    expect(report.server).toBe('proxy1.example.com');
    expect(report.summary.fail).toBeGreaterThan(0);
    expect(code).toBe(1);
  });

  it('explains the 502s of a log given with --log in the human report', async () => {
    const dir = testdir({
      'access.log':
        '203.0.113.9 - - [10/Mar/2025:10:00:01 +0000] "GET / HTTP/1.1" 502 157 "-" "curl/7.88"\n',
    });
    const { io, out } = captureIo();
    await run([...exampleArgs(), '-w', dir, '--log', join(dir, 'access.log')], io);
    expect(out.stdout).toContain('nginx logs (nginx-logs)');
    expect(out.stdout).toMatch(/WARN {2}HTTP 502 Bad Gateway: 1 in/);
  });

  it('exits 2 on an unknown option and on a bad timeout', async () => {
    const { io, out } = captureIo();
    expect(await run(['--bogus'], io)).toBe(2);
    expect(await run(['--timeout', 'soon'], io)).toBe(2);
    expect(out.stderr).toContain('error: --timeout must be a positive number');
  });
});
