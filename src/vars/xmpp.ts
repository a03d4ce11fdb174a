/** Variables of the xmpp area (ref §5). */
import type { VariableDefinition } from './types.js';

export const XMPP_VARIABLES: readonly VariableDefinition[] = [];
