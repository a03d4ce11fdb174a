/** Variables of the timeouts area (ref §5). */
import type { VariableDefinition } from './types.js';

export const TIMEOUTS_VARIABLES: readonly VariableDefinition[] = [];
