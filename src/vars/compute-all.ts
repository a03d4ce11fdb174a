/**
 * Everything a generation computes from one variable context, in one call: the doctor runs it so
 * that its `directory` check reports every value zmproxyconfgen would refuse, not only those its
 * other checks happen to read. The problems land in the context's handle, as in a generation.
 */
import type { Problem } from '../errors.js';
import { computeServerItems } from './docs.js';
import { computeClientCaBundle, computeDomainItems } from './domains.js';
import { checkListenerPorts } from './listeners.js';
import { computeVariables } from './registry.js';
import { computeStockMailTls } from './stock-mail-tls.js';
import { computeStockWebSites } from './stock-sites.js';
import { computeStockMailVips } from './stock.js';
import type { VarContext } from './types.js';

/** Computes every variable and template item; returns the listener-port clashes among them. */
export function computeEveryValue(ctx: VarContext, server: string): Problem[] {
  const vars = computeVariables(ctx);
  computeDomainItems(ctx);
  computeServerItems(ctx);
  computeClientCaBundle(ctx);
  computeStockWebSites(ctx);
  computeStockMailTls(ctx);
  computeStockMailVips(ctx);
  return checkListenerPorts(vars, server);
}
