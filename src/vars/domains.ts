/** Domain explosion items and the variables derived from domains (ref §3.5.3, §7.4). */
import type { DomainExplodeItem } from '../render/types.js';
import type { VarContext } from './types.js';

/** One item per virtual host name of every qualifying domain, sorted by domain then vhn. */
export function computeDomainItems(_ctx: VarContext): DomainExplodeItem[] {
  return [];
}

/** The client-certificate CA bundle text (serverSource CA plus every exploded domain's CA), or ''. */
export function computeClientCaBundle(_ctx: VarContext): string {
  return '';
}
