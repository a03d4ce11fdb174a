/**
 * The loopback address scheme of the stock mail TLS chain (docs/mail-tls.md). Pure, and imported
 * by both sides that must agree on it: the generator, which writes nginx `stream {}` listeners at
 * these addresses, and the lookup service, which answers nginx's mail module with them.
 *
 * - Upstream TLS: nginx's mail module cannot speak TLS to a mailbox server, so the lookup service
 *   answers with a loopback listener of that server, where the stream module re-encrypts towards
 *   the server's IMAPS/POP3S port. The address is derived from the server's name alone (the lookup
 *   service knows only `zimbraMailHost`), the port from the protocol; the generator, which sees
 *   every server, refuses two names that land on one address.
 * - Per-domain certificates: the stream module reads the TLS server name on the public
 *   IMAPS/POP3S port (`ssl_preread`) and hands the connection to one mail-module listener per
 *   certificate, numbered from 1 (the default certificate).
 *
 * Dedicated loopback ranges keep the two apart and away from 127.0.0.1, where other services
 * listen; fixed ports keep the addresses alone meaningful (a listener on a specific loopback
 * address cannot share its port with a wildcard listener of the same port, so these ports must not
 * be public mail ports).
 */
import { createHash } from 'node:crypto';

/** The mail protocols of the chain, as nginx's mail module names them (`Auth-Protocol`). */
export type ChainProtocol = 'imap' | 'pop3';

/** Port of the upstream-TLS listeners, per protocol. */
export const UPSTREAM_TLS_PORT: Readonly<Record<ChainProtocol, number>> = {
  imap: 7993,
  pop3: 7995,
};

/** Port of the per-certificate mail listeners behind the SNI router, per protocol. */
export const SNI_LISTENER_PORT: Readonly<Record<ChainProtocol, number>> = {
  imap: 9993,
  pop3: 9995,
};

/**
 * The header nginx's mail module sends to the lookup service when the upstream-TLS chain is on
 * (`auth_http_header`), and its value. nginx builds auth_http requests itself: a client cannot set it.
 */
export const UPSTREAM_TLS_HEADER = 'X-Zmproxy-Upstream';
export const UPSTREAM_TLS_VALUE = 'tls';

/**
 * The loopback address of a mailbox server's upstream-TLS listeners: 127.64.0.0/10, the low
 * 22 bits taken from SHA-256 of the lower-cased name (about 4 million addresses: two of 100
 * servers collide with a chance of about 1 in 800, which the generator reports).
 */
export function upstreamTlsAddress(serverName: string): string {
  const digest = createHash('sha256').update(serverName.trim().toLowerCase(), 'utf8').digest();
  const a = 64 + ((digest[0] ?? 0) & 0x3f);
  return `127.${a}.${digest[1] ?? 0}.${digest[2] ?? 0}`;
}

/**
 * The loopback address of the mail listener of the `index`th certificate (1 = default) behind
 * the SNI router: 127.2.0.0/16, so at most 65534 certificates.
 */
export function sniListenerAddress(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > 65_534) {
    throw new RangeError(`certificate index ${index} is outside 1..65534`);
  }
  return `127.2.${index >> 8}.${index & 0xff}`;
}

/** The largest number of certificates behind the SNI router. */
export const MAX_SNI_LISTENERS = 65_534;
