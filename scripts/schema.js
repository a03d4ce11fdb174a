#!/usr/bin/env node
// Writes zmproxy's Zimbra schema subset for OpenLDAP (cn=config LDIF) to the file given, or to
// stdout. Uses the built dist/ (run `npm run build` first); scripts/stack.sh calls it.
import { writeFileSync } from 'node:fs';
import { renderOpenLdapSchema } from '../dist/sources/ldap/openldap-schema.js';

const [target] = process.argv.slice(2);
const text = renderOpenLdapSchema();
if (target === undefined || target === '-') process.stdout.write(text);
else writeFileSync(target, text);
