/** Variables of the throttle area (ref §5). */
import type { VariableDefinition } from './types.js';

export const THROTTLE_VARIABLES: readonly VariableDefinition[] = [];
