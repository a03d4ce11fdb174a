/** Variables of the lookup area (ref §5). */
import type { VariableDefinition } from './types.js';

export const LOOKUP_VARIABLES: readonly VariableDefinition[] = [];
