/** Variables of the core area (ref §5). */
import type { VariableDefinition } from './types.js';

export const CORE_VARIABLES: readonly VariableDefinition[] = [];
