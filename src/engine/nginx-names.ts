/**
 * The names nginx resolves itself: the host of every `server host:port` line of an upstream
 * block that is not an IP address (Zimbra's templates, and ours, name the mailbox servers). nginx
 * asks this host's resolver (/etc/hosts, DNS) when it loads the configuration and refuses to
 * start or reload when one fails; `--hosts` feeds zmproxy only. So every such name is resolved
 * the way nginx will before a generation is published, and a failure names them all at once.
 */
import { ProxyConfError } from '../errors.js';
import { isIpAddress } from '../model/value-types.js';

const UPSTREAM_SERVER = /^\s*server\s+([A-Za-z0-9][A-Za-z0-9.-]*):\d{1,5}\b/gm;

/** Lowercased, sorted host names of `server host:port` lines. */
export function collectNginxHostnames(files: readonly { content: string }[]): string[] {
  const names = new Set<string>();
  for (const file of files) {
    for (const match of file.content.matchAll(UPSTREAM_SERVER)) {
      const host = match[1] ?? '';
      if (!isIpAddress(host)) names.add(host.toLowerCase());
    }
  }
  return [...names].sort();
}

/** Resolves a name as nginx will (getaddrinfo); rejects when it cannot. */
export type SystemResolve = (name: string) => Promise<unknown>;

/** Throws E_DNS naming every host name of the files this host cannot resolve. */
export async function assertNginxCanResolve(
  files: readonly { content: string }[],
  resolve: SystemResolve,
): Promise<void> {
  const names = collectNginxHostnames(files);
  const failed = (
    await Promise.all(
      names.map(async (name) => {
        try {
          await resolve(name);
          return undefined;
        } catch {
          return name;
        }
      }),
    )
  ).filter((name) => name !== undefined);
  if (failed.length === 0) return;
  throw new ProxyConfError(
    'E_DNS',
    `nginx would not load this configuration: this host cannot resolve ${failed.join(', ')}, which its upstream blocks name`,
    {
      hint: "nginx resolves upstream host names itself with this host's resolver (--hosts feeds zmproxy only): add them to /etc/hosts or DNS",
    },
  );
}
