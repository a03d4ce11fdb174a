/** Variables of the memcache area (ref §5). */
import type { VariableDefinition } from './types.js';

export const MEMCACHE_VARIABLES: readonly VariableDefinition[] = [];
