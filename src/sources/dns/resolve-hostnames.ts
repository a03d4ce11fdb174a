/** Resolves host names concurrently with a timeout, after a hosts-file override (the DNS edge). */
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import type { DnsAnswer, DnsTable, ResolvedAddress } from '../../model/dns.js';
import { ipFamily } from '../../model/value-types.js';
import { ProxyConfError } from '../../errors.js';
import { describeReadError } from '../describe-read-error.js';

/** Options of {@link resolveHostnames}. */
export interface ResolveOptions {
  /** Names answered from this table first (a parsed hosts file). */
  hosts?: ReadonlyMap<string, readonly string[]> | undefined;
  /** Skip the system resolver: a name missing from `hosts` does not resolve. @default false */
  hostsOnly?: boolean;
  /** Per-name timeout in milliseconds. @default 5000 */
  timeoutMs?: number;
  /** Lookups in flight at once. @default 32 */
  concurrency?: number;
}

/** Resolves every name; a failure is an answer, never a thrown error. */
export async function resolveHostnames(
  names: readonly string[],
  options: ResolveOptions = {},
): Promise<DnsTable> {
  const table = new Map<string, DnsAnswer>();
  const queue = [...new Set(names.map((name) => name.toLowerCase()))];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      table.set(name, await resolveOne(name, options));
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 32, queue.length) }, worker),
  );
  return table;
}

async function resolveOne(name: string, options: ResolveOptions): Promise<DnsAnswer> {
  const family = ipFamily(name);
  if (family !== undefined) return { ok: true, addresses: [{ address: name, family }] };
  const fromHosts = options.hosts?.get(name);
  if (fromHosts !== undefined) return { ok: true, addresses: fromHosts.map(toAddress) };
  if (options.hostsOnly === true) return { ok: false, error: 'not in the hosts file' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DnsAnswer>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, error: 'DNS lookup timed out' }),
      options.timeoutMs ?? 5000,
    );
  });
  const answer = lookup(name, { all: true, order: 'verbatim' }).then(
    (results): DnsAnswer => ({
      ok: true,
      addresses: results.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 })),
    }),
    (error: NodeJS.ErrnoException): DnsAnswer => ({
      ok: false,
      error: error.code ?? error.message,
    }),
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function toAddress(address: string): ResolvedAddress {
  return { address, family: ipFamily(address) === 6 ? 6 : 4 };
}

/** Parses a hosts file (`address name [alias…]`, `#` comments) into name → addresses. */
export function parseHostsFile(text: string, file: string): Map<string, string[]> {
  const hosts = new Map<string, string[]>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [address = '', ...names] = line.split(/\s+/);
    if (ipFamily(address) === undefined || names.length === 0) {
      throw new ProxyConfError(
        'E_INPUT',
        `${file}:${index + 1}: expected "address name [alias…]"`,
        {
          hint: 'use the /etc/hosts format, one address per line',
        },
      );
    }
    for (const name of names) {
      const key = name.toLowerCase();
      hosts.set(key, [...(hosts.get(key) ?? []), address]);
    }
  });
  return hosts;
}

/** Reads a hosts file. */
export async function readHostsFile(file: string): Promise<Map<string, string[]>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ProxyConfError('E_INPUT', `hosts file ${file}: ${describeReadError(cause)}`, {
      cause,
      hint: 'check the --hosts path',
    });
  }
  return parseHostsFile(text, file);
}

/** Resolves a name the way nginx will (getaddrinfo: /etc/hosts, then DNS); rejects when it cannot. */
export function resolveLikeNginx(name: string): Promise<unknown> {
  return lookup(name, { all: true });
}
