/**
 * The REST URL of an account (`zmproxy rest-url`), by Zimbra's rule (zm-mailbox
 * ZimbraServlet.getServiceUrl → URLUtil.getPublicURLForDomain, path `/home/<account>`):
 *
 * 1. the domain has zimbraPublicServiceHostname (its own, or inherited from the global config):
 *    `<zimbraPublicServiceProtocol, default http>://<hostname>[:<zimbraPublicServicePort>]`,
 *    the port left out when it is the protocol's default (80, 443);
 * 2. else the account's home server (zimbraMailHost): `https://<zimbraServiceHostname>:<zimbraMailSSLPort>`
 *    unless its zimbraMailMode is `http`, then `http://<zimbraServiceHostname>:<zimbraMailPort>`
 *    (URLUtil.getServiceURL with preferSSL). The port is always written.
 *
 * Pure: snapshot in, URL out.
 */
import type { Problem } from '../errors.js';
import type { DirectoryEntry, DirectorySnapshot } from '../model/snapshot.js';
import { entryName, firstValueOf, valuesOf } from '../model/snapshot.js';
import { createReaders } from '../resolve/attribute-reader.js';

/** The REST URL of an account and how it was found, or why there is none. */
export type RestUrlResult =
  | {
      ok: true;
      /** The account's name (zimbraMailDeliveryAddress). */
      account: string;
      url: string;
      /** `public`: from the domain's public service settings; `server`: from the home server. */
      rule: 'public' | 'server';
      /** One sentence naming the attributes the URL came from. */
      explanation: string;
    }
  | { ok: false; message: string; hint: string };

const SERVLET_PATH = '/home';

/** Finds an account by name or alias (case-insensitive). */
export function findAccount(snapshot: DirectorySnapshot, name: string): DirectoryEntry | undefined {
  const lower = name.toLowerCase();
  const matches = (entry: DirectoryEntry, attribute: string) =>
    (valuesOf(entry, attribute) ?? []).some((value) => value.toLowerCase() === lower);
  return (
    snapshot.accounts.find((entry) => matches(entry, 'zimbraMailDeliveryAddress')) ??
    snapshot.accounts.find((entry) => matches(entry, 'zimbraMailAlias'))
  );
}

/** The account's REST URL by Zimbra's rule. */
export function computeRestUrl(snapshot: DirectorySnapshot, name: string): RestUrlResult {
  const account = findAccount(snapshot, name);
  if (account === undefined) {
    return {
      ok: false,
      message: `no account ${name} in the directory`,
      hint: "give the account's full address (user@domain) or one of its aliases",
    };
  }
  const accountName = entryName(account);
  const domainName = accountName.slice(accountName.lastIndexOf('@') + 1).toLowerCase();
  const problems: Problem[] = [];
  const readers = createReaders(snapshot, {
    problem: (problem) => problems.push(problem),
    warn: () => undefined,
  });
  const domain = snapshot.domains.find(
    (entry) => firstValueOf(entry, 'zimbraDomainName')?.toLowerCase() === domainName,
  );
  // A domain entry inherits from the global config; without one, the global config alone.
  const domainReader = domain === undefined ? readers.config : readers.readerFor(domain);
  const publicHost = domainReader.text('zimbraPublicServiceHostname', '');
  const path = `${SERVLET_PATH}/${accountName}`;
  if (publicHost !== '') {
    const protocol = domainReader.text('zimbraPublicServiceProtocol', 'http');
    const defaultPort = protocol === 'http' ? 80 : 443;
    const port = domainReader.port('zimbraPublicServicePort', defaultPort);
    const printPort =
      (protocol === 'http' && port !== 80) || (protocol === 'https' && port !== 443);
    const from = domainReader.find('zimbraPublicServiceHostname')?.from;
    return {
      ok: true,
      account: accountName,
      url: `${protocol}://${publicHost}${printPort ? `:${port}` : ''}${path}`,
      rule: 'public',
      explanation: `zimbraPublicServiceProtocol, zimbraPublicServiceHostname and zimbraPublicServicePort of ${from === undefined || from.kind === 'globalConfig' ? 'the global config' : `domain ${domainName}`}`,
    };
  }
  const mailHost = firstValueOf(account, 'zimbraMailHost');
  const server =
    mailHost === undefined
      ? undefined
      : (snapshot.servers.find(
          (entry) => entryName(entry).toLowerCase() === mailHost.toLowerCase(),
        ) ??
        snapshot.servers.find(
          (entry) =>
            firstValueOf(entry, 'zimbraServiceHostname')?.toLowerCase() === mailHost.toLowerCase(),
        ));
  if (server === undefined) {
    return {
      ok: false,
      message:
        mailHost === undefined
          ? `account ${accountName} has no zimbraMailHost`
          : `the home server of ${accountName}, ${mailHost} (zimbraMailHost), is not in the directory`,
      hint: `zmprov ma ${accountName} zimbraMailHost <mailbox server>, or give domain ${domainName} a zimbraPublicServiceHostname`,
    };
  }
  const reader = readers.readerFor(server);
  const host = reader.text('zimbraServiceHostname', '');
  const mode = reader.find('zimbraMailMode')?.values[0]?.toLowerCase();
  if (host === '' || mode === undefined) {
    return {
      ok: false,
      message: `server ${entryName(server)} has no ${host === '' ? 'zimbraServiceHostname' : 'zimbraMailMode'}: it is no mailbox server`,
      hint: `zmprov md ${domainName} zimbraPublicServiceHostname <public host name>`,
    };
  }
  const plain = mode === 'http';
  // A URL's standard ports, as the mailbox builds REST URLs: not the catalog's (ProxyConfGen's)
  // code defaults, which are for nginx configuration.
  const port = plain ? reader.port('zimbraMailPort', 80) : reader.port('zimbraMailSSLPort', 443);
  return {
    ok: true,
    account: accountName,
    url: `${plain ? 'http' : 'https'}://${host}:${port}${path}`,
    rule: 'server',
    explanation: `domain ${domainName} has no zimbraPublicServiceHostname, so the home server ${entryName(server)}: zimbraMailMode ${mode}, zimbraServiceHostname and ${plain ? 'zimbraMailPort' : 'zimbraMailSSLPort'}`,
  };
}
