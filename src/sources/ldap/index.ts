/** The LDAP directory source (ldapts) and the Zimbra schema subset for OpenLDAP. */
export { connectLdap } from './connect.js';
export type { ConnectLdapOptions } from './connect.js';
export { createLdapDirectory, resolveLdapSourceOptions } from './ldap-directory.js';
export type { ResolvedLdapSourceOptions } from './ldap-directory.js';
export { ldapOptionsFromLocalConfig } from './localconfig-options.js';
export type { LdapOptionOverrides } from './localconfig-options.js';
export type { LdapSourceOptions } from './options.js';
export { renderOpenLdapSchema, renderAttributeType } from './openldap-schema.js';
