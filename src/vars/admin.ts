/** Variables of the admin area (ref §5). */
import type { VariableDefinition } from './types.js';

export const ADMIN_VARIABLES: readonly VariableDefinition[] = [];
