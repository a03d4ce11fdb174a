/** Variables of the docs area (ref §5): document-server upstreams and server explosion. */
import type { ServerExplodeItem } from '../render/types.js';
import type { VarContext, VariableDefinition } from './types.js';

export const DOCS_VARIABLES: readonly VariableDefinition[] = [];

/** One item per server running the service, sorted by server name (ref §3.5.2). */
export function computeServerItems(_ctx: VarContext): ServerExplodeItem[] {
  return [];
}
