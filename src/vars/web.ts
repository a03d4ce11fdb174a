/** Variables of the web area (ref §5). */
import type { VariableDefinition } from './types.js';

export const WEB_VARIABLES: readonly VariableDefinition[] = [];
