/** Variables of the mail area (ref §5). */
import type { VariableDefinition } from './types.js';

export const MAIL_VARIABLES: readonly VariableDefinition[] = [];
