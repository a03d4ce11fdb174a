/**
 * The lookup service's directory over ldapts: targeted searches with the service account (Zimbra's
 * queries, one entry each; never a full read), and password checks by a simple bind as the
 * account on a small pool of separate connections (a bind changes a connection's identity, and
 * LDAP forbids other operations on a connection while a bind is in flight).
 */
import type { EventEmitter } from 'node:events';
import { ResultCodeError } from 'ldapts';
import type { Client, Entry } from 'ldapts';
import { connectLdap, resolveLdapSourceOptions } from '../../sources/ldap/index.js';
import type { LdapSourceOptions } from '../../sources/ldap/index.js';
import type { DirectoryQuery, DirectoryRecord, LookupDirectory } from '../ports.js';

/** Options of {@link createLdapLookupDirectory}. */
export interface LdapLookupOptions extends LdapSourceOptions {
  /** Connections used for password checks. @default 4 */
  bindPoolSize?: number;
}

/** The directory, plus `close()`. */
export interface LdapLookupDirectory extends LookupDirectory {
  close(): Promise<void>;
}

/**
 * LDAP result codes of a bind that answer "these credentials are not valid". Every other result
 * code (busy 51, unavailable 52, timeLimitExceeded 3, adminLimitExceeded 11, unwillingToPerform
 * 53, ...) says something about the server, not the password: the bind rejects, the core answers
 * a temporary failure with Auth-Wait and keeps the cached route. As Zimbra's own bind check
 * (LdapProvisioning: only LDAP_INVALID_CREDENTIALS is an auth failure, the rest a service error).
 * - 49 invalidCredentials: the wrong password (OpenLDAP also answers it for an unknown DN and
 *   for an account locked by ppolicy).
 * - 32 noSuchObject: some servers answer it for a DN that does not exist (a stale cached DN after
 *   a rename or delete): no password can be right, and "false" drops the stale route.
 * 53 unwillingToPerform is deliberately not here: OpenLDAP sends it for a disabled database, a
 * read-only or shutting-down replica and bind policies, none of which is about this password; an
 * account Zimbra disables is refused by the mailbox server anyway.
 */
export const WRONG_CREDENTIALS_CODES: ReadonlySet<number> = new Set([49, 32]);

/**
 * Calls `onClose` once when the connection of `client` ends. ldapts watches only the socket it
 * opened: after StartTLS it talks over a TLS socket whose close it never sees, so a connection
 * the server closed (slapd restarted) looks alive and every request on it waits out the
 * operation timeout. Watching the socket in use, whichever it is, drops such a connection at once.
 */
export function watchConnectionClose(client: Client, onClose: () => void): void {
  const socket = (client as unknown as { socket?: EventEmitter }).socket;
  if (socket === undefined) return;
  let done = false;
  const closed = (): void => {
    if (done) return;
    done = true;
    onClose();
  };
  socket.once('close', closed);
  socket.once('end', closed);
}

function toRecord(entry: Entry): DirectoryRecord {
  const attrs: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const list = (Array.isArray(value) ? value : [value]).map((item) =>
      typeof item === 'string' ? item : item.toString('utf8'),
    );
    if (list.length > 0) attrs[name.split(';')[0] ?? name] = list;
  }
  return { dn: entry.dn, attrs };
}

/** Creates the directory (lazy: the first search connects). */
export function createLdapLookupDirectory(options: LdapLookupOptions): LdapLookupDirectory {
  const resolved = resolveLdapSourceOptions(options);
  const service = { dn: resolved.bindDn, password: resolved.bindPassword };
  let searcher: Promise<Client> | undefined;
  const poolSize = Math.max(1, options.bindPoolSize ?? 4);
  const idle: Client[] = [];
  let open = 0;
  const waiters: ((client: Client | undefined) => void)[] = [];
  let closed = false;

  const searchClient = (): Promise<Client> => {
    if (searcher !== undefined) return searcher;
    const connecting: Promise<Client> = connectLdap(resolved, { bind: service }).then(
      (client) => {
        watchConnectionClose(client, () => {
          if (searcher === connecting) searcher = undefined;
          void client.unbind().catch(() => undefined);
        });
        return client;
      },
      (error: unknown) => {
        if (searcher === connecting) searcher = undefined;
        throw error;
      },
    );
    searcher = connecting;
    return connecting;
  };

  /** A bind connection, watched: one the server closed leaves the pool at once. */
  const openBindClient = async (): Promise<Client> => {
    const client = await connectLdap(resolved);
    watchConnectionClose(client, () => {
      const at = idle.indexOf(client);
      if (at >= 0) {
        idle.splice(at, 1);
        open -= 1;
      }
    });
    return client;
  };

  const acquire = async (): Promise<Client | undefined> => {
    const ready = idle.pop();
    if (ready !== undefined) return ready;
    if (open < poolSize) {
      open += 1;
      try {
        return await openBindClient();
      } catch (error) {
        open -= 1;
        throw error;
      }
    }
    return new Promise((resolve) => waiters.push(resolve));
  };
  const release = (client: Client | undefined, broken: boolean): void => {
    if (client !== undefined && broken) {
      open -= 1;
      void client.unbind().catch(() => undefined);
      client = undefined;
    }
    const waiter = waiters.shift();
    if (waiter !== undefined) {
      if (client !== undefined) waiter(client);
      else {
        // A broken connection: the waiter opens its own.
        open += 1;
        openBindClient().then(waiter, () => {
          open -= 1;
          waiter(undefined);
        });
      }
      return;
    }
    if (client !== undefined) {
      if (closed) void client.unbind().catch(() => undefined);
      else idle.push(client);
    }
  };

  return {
    async search(query: DirectoryQuery): Promise<readonly DirectoryRecord[]> {
      const client = await searchClient();
      try {
        const { searchEntries } = await client.search(query.base, {
          scope: query.scope ?? 'sub',
          filter: query.filter,
          attributes: [...query.attributes],
        });
        const records = searchEntries.map(toRecord);
        return query.sizeLimit === undefined ? records : records.slice(0, query.sizeLimit);
      } catch (error) {
        if (error instanceof ResultCodeError && error.code === 32) return [];
        // A broken connection: reconnect on the next search.
        if (!(error instanceof ResultCodeError)) {
          searcher = undefined;
          void client.unbind().catch(() => undefined);
        }
        throw error;
      }
    },
    async verifyPassword(dn: string, password: string): Promise<boolean> {
      if (password === '' || dn === '') return false; // an empty password would be an anonymous bind
      const client = await acquire();
      if (client === undefined) throw new Error('LDAP connection for password checks failed');
      try {
        await client.bind(dn, password);
        release(client, false);
        return true;
      } catch (error) {
        // A result code is an answer: the connection itself is fine (and anonymous again).
        const answered = error instanceof ResultCodeError;
        release(client, !answered);
        if (answered && WRONG_CREDENTIALS_CODES.has(error.code)) return false;
        throw error;
      }
    },
    async close(): Promise<void> {
      closed = true;
      const pending = searcher;
      searcher = undefined;
      const clients = idle.splice(0);
      await Promise.all([
        pending?.then((c) => c.unbind()).catch(() => undefined),
        ...clients.map((c) => c.unbind().catch(() => undefined)),
      ]);
    },
  };
}
