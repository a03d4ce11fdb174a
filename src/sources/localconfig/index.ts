/** Zimbra's localconfig.xml. */
export { parseLocalConfig } from './parse-localconfig.js';
export { readLocalConfig } from './read-localconfig.js';
