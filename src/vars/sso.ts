/** Variables of the sso area (ref §5). */
import type { VariableDefinition } from './types.js';

export const SSO_VARIABLES: readonly VariableDefinition[] = [];
