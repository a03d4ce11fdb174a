/** Variables of the ssl area (ref §5). */
import type { VariableDefinition } from './types.js';

export const SSL_VARIABLES: readonly VariableDefinition[] = [];
