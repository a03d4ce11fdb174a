/**
 * localconfig `zmproxy_bind_address`: the one address a proxy binds to (several proxies on one
 * host, multi-homed hosts). Empty: every address (the wildcard listen lines). Set, every `listen`
 * of the stock templates names it, and when it is a loopback address the proxy's internal
 * listeners (generation marker, auth_http server, local lookup service) move to it too, so that
 * proxies on 127.0.0.11, 127.0.0.12, … of one host never share a socket.
 */
import { isLoopbackAddress } from '../model/lookup-topology.js';
import { ipFamily } from '../model/value-types.js';
import type { VarContext } from './types.js';

/** The localconfig key. */
export const BIND_ADDRESS_KEY = 'zmproxy_bind_address';

const CHECKED = new WeakMap<VarContext, string>();

/** The bind address ('' for every address); an invalid value is a problem and binds to all. */
export function computeBindAddress(ctx: VarContext): string {
  const known = CHECKED.get(ctx);
  if (known !== undefined) return known;
  const value = ctx.lc.text(BIND_ADDRESS_KEY, '').trim();
  let address = value;
  if (value !== '' && ipFamily(value) === undefined) {
    ctx.problem({
      subject: BIND_ADDRESS_KEY,
      entry: 'localconfig',
      message: 'must be an IP address (empty: listen on every address)',
      value,
      hint: `zmlocalconfig -e ${BIND_ADDRESS_KEY}=127.0.0.1 (an address of this host), or -u ${BIND_ADDRESS_KEY}`,
    });
    address = '';
  }
  CHECKED.set(ctx, address);
  return address;
}

/** What goes before the port in a listen line: '', `ADDR:` or `[ADDR]:`. */
export function computeBindPrefix(ctx: VarContext): string {
  const address = computeBindAddress(ctx);
  if (address === '') return '';
  return ipFamily(address) === 6 ? `[${address}]:` : `${address}:`;
}

/** The host of the internal loopback listeners: the bind address when loopback, else 127.0.0.1. */
export function internalListenHost(bindAddress: string): string {
  if (bindAddress === '' || !isLoopbackAddress(bindAddress)) return '127.0.0.1';
  return ipFamily(bindAddress) === 6 ? `[${bindAddress}]` : bindAddress;
}

/**
 * The auth_http listener nginx gets (`stock.lookup.listen`) from localconfig values alone, for
 * readers outside the generator (the doctor): `zmproxy_auth_http_listen`, moved to a loopback
 * `zmproxy_bind_address` when left at its default. Not validated here.
 */
export function effectiveAuthHttpListen(read: (key: string) => string): string {
  const value = read('zmproxy_auth_http_listen');
  const bind = read(BIND_ADDRESS_KEY).trim();
  if (value !== '127.0.0.1:7079' || bind === '' || ipFamily(bind) === undefined) return value;
  return `${internalListenHost(bind)}:7079`;
}
