/**
 * Check `deployed-lookup-handlers`: the lookup handlers in the configuration nginx serves against
 * the list the generator computes from the directory now. With Zimbra's template set that is the
 * `zm_lookup_handlers` line of `nginx.conf.zmlookup`; with the stock set the `server` lines of its
 * `upstream zmlookup` block (the lookup services, or with `nle` the handlers themselves). A
 * handler added by hand, or a directory change not yet applied, shows here: the other checks
 * only see the directory.
 */
import { computeStockLookupUpstream } from '../../vars/stock.js';
import { computeLookupHandlers } from '../../vars/lookup.js';
import type { VarContext } from '../../vars/types.js';
import { defineCheck } from '../check.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import type { FileRead } from '../probes/files.js';

const ID = 'deployed-lookup-handlers';

/** What nginx serves, and which template set it comes from. */
export interface DeployedLookupFacts {
  /** The served `<prefix>.zmlookup` include. */
  lookupConfig: FileRead;
  /** The template set in use, for when the served file cannot be read (else the file tells). */
  set: 'stock' | 'zimbra';
}

/** The handlers of a served `nginx.conf.zmlookup`: Zimbra's directive, else the stock upstream. */
export function parseDeployedHandlers(text: string, set: 'stock' | 'zimbra'): string[] {
  const code = text.replace(/#[^\n]*/g, '');
  if (set === 'zimbra') {
    const line = /(?:^|[\s;{])zm_lookup_handlers\s+([^;]*);/.exec(code);
    return line?.[1]?.split(/\s+/).filter((token) => token !== '') ?? [];
  }
  const block = /upstream\s+zmlookup\s*\{([^}]*)\}/.exec(code);
  if (block?.[1] === undefined) return [];
  return [...block[1].matchAll(/(?:^|[\s;])server\s+(\S+)[^;]*;/g)].map((match) => match[1] ?? '');
}

/** The handlers the generator would write now, in the served file's own terms. */
export function computeExpectedHandlers(ctx: VarContext, set: 'stock' | 'zimbra'): string[] {
  return set === 'zimbra'
    ? [...computeLookupHandlers(ctx)]
    : computeStockLookupUpstream(ctx).handlers.map((handler) => handler.address);
}

function servedSet(text: string): 'stock' | 'zimbra' {
  return /^\s*zm_lookup_handlers\s/m.test(text) ? 'zimbra' : 'stock';
}

/** The findings of the deployed-lookup-handlers check. */
export function checkDeployedLookupHandlers(
  ctx: VarContext,
  facts: DeployedLookupFacts,
): Finding[] {
  const { lookupConfig } = facts;
  // The served file says which set made it (the template directory may have changed since).
  const set = lookupConfig.ok ? servedSet(lookupConfig.text) : facts.set;
  const expected = computeExpectedHandlers(ctx, set);
  const where = set === 'zimbra' ? 'zm_lookup_handlers' : 'upstream zmlookup';
  if (!lookupConfig.ok) {
    if (expected.length === 0) {
      return [okFinding(ID, lookupConfig.path, 'not deployed, and the directory names no handler')];
    }
    return [
      {
        check: ID,
        severity: 'warn',
        subject: lookupConfig.path,
        evidence: `cannot read it (${lookupConfig.error}); the directory gives ${expected.join(' ')}`,
        explanation:
          'nginx is not serving a generation with lookup handlers here, or serves it from another work directory',
        fix: 'zmproxyconfgen --apply',
      },
    ];
  }
  const deployed = parseDeployedHandlers(lookupConfig.text, set);
  const extra = deployed.filter((handler) => !expected.includes(handler));
  const missing = expected.filter((handler) => !deployed.includes(handler));
  if (extra.length === 0 && missing.length === 0) {
    return [
      okFinding(
        ID,
        lookupConfig.path,
        `${where} lists the ${deployed.length} handler${deployed.length === 1 ? '' : 's'} the directory gives${deployed.length > 0 ? `: ${deployed.join(' ')}` : ''}`,
      ),
    ];
  }
  const parts = [
    ...(extra.length > 0 ? [`not from the directory: ${extra.join(' ')}`] : []),
    ...(missing.length > 0 ? [`missing: ${missing.join(' ')}`] : []),
  ];
  return [
    {
      check: ID,
      severity: 'fail',
      subject: lookupConfig.path,
      evidence: `${where} lists ${deployed.length === 0 ? 'nothing' : deployed.join(' ')}; ${parts.join('; ')}`,
      explanation:
        'nginx asks the handlers of the served file, not the directory: a handler added by hand gets logins the directory knows nothing about (and the next generation drops it), a missing one means the directory changed since the last publish. Handlers belong in the directory (zimbraReverseProxyLookupTarget on a mailbox server)',
      fix: 'zmproxyconfgen --apply',
    },
  ];
}

/** The `deployed-lookup-handlers` check. */
export const deployedLookupHandlersCheck = defineCheck({
  id: ID,
  title: 'Deployed lookup handlers',
  needs: ['directory', 'served', 'templates'],
  run: ({ directory, served, templates }) =>
    checkDeployedLookupHandlers(directory, {
      lookupConfig: served.lookupConfig,
      set: templates.ok ? templates.set : 'zimbra',
    }),
});
