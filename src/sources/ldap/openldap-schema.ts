/**
 * The subset of Zimbra's LDAP schema zmproxy needs, rendered for OpenLDAP's cn=config from the
 * attribute catalog. Pure: catalog in, LDIF text out.
 *
 * Facts kept from Zimbra (zimbra-attrs.xml, zimbra-ocs.xml in Zimbra/zm-mailbox store/conf/attrs):
 * attribute OIDs `1.3.6.1.4.1.19348.2.1.<id>`, object class OIDs `1.3.6.1.4.1.19348.2.2.<id>`,
 * each class's kind (STRUCTURAL/AUXILIARY) and superior, SINGLE-VALUE for single-valued
 * attributes, and the Boolean syntax for boolean attributes.
 *
 * Conscious leniency (this schema backs test directories and small installs, never a Zimbra
 * mailbox server): every non-boolean attribute is a Directory String with caseIgnoreMatch (Zimbra
 * uses Integer for integer/port/long, IA5 String for astring/email/duration), no length bounds,
 * no MUST lists, and every Zimbra class allows every catalog attribute. So any Zimbra-DIT LDIF of
 * these attributes loads, and a directory can hold the invalid values zmproxy itself must
 * detect (an integer attribute holding `1h`), which Zimbra's own provisioning rejects before
 * writing.
 */
import { ATTRIBUTE_CATALOG } from '../../model/attribute-catalog.js';
import type { AttributeSpec } from '../../model/attribute-spec.js';

/** Zimbra's attribute type arc (zimbra-attrs.xml ids live under it). */
export const ZIMBRA_ATTRIBUTE_ARC = '1.3.6.1.4.1.19348.2.1';
/** Zimbra's object class arc (zimbra-ocs.xml ids live under it). */
export const ZIMBRA_OBJECT_CLASS_ARC = '1.3.6.1.4.1.19348.2.2';

/** One object class of the subset. */
interface ObjectClassSpec {
  readonly name: string;
  /** Full OID. */
  readonly oid: string;
  readonly kind: 'STRUCTURAL' | 'AUXILIARY';
  readonly sup: string;
  readonly desc: string;
  /** Allowed attributes; undefined: every catalog attribute. */
  readonly may?: readonly string[];
}

/** The classes of zimbra-ocs.xml zmproxy reads or classifies, plus what real entries carry. */
const OBJECT_CLASSES: readonly ObjectClassSpec[] = [
  zimbraClass(7, 'zimbraMailRecipient', 'AUXILIARY', 'top', 'Mail recipient object'),
  zimbraClass(1, 'zimbraAccount', 'AUXILIARY', 'zimbraMailRecipient', 'Account object'),
  zimbraClass(3, 'zimbraCOS', 'STRUCTURAL', 'top', 'Class of Service data'),
  zimbraClass(4, 'zimbraDomain', 'AUXILIARY', 'zimbraMailRecipient', 'Domain object'),
  zimbraClass(8, 'zimbraServer', 'STRUCTURAL', 'top', 'Server in the cluster'),
  zimbraClass(9, 'zimbraGlobalConfig', 'AUXILIARY', 'top', 'global config'),
  zimbraClass(11, 'zimbraAlias', 'STRUCTURAL', 'top', 'An alias to another zimbra object'),
  zimbraClass(16, 'zimbraCalendarResource', 'AUXILIARY', 'top', 'Calendar resource object'),
  zimbraClass(32, 'zimbraAlwaysOnCluster', 'STRUCTURAL', 'top', 'AlwaysOn Cluster'),
  {
    // Zimbra puts amavisAccount on every domain and account (zimbraDomainExtraObjectClass,
    // zimbraAccountExtraObjectClass); its OID is amavisd-new's (LDAP.schema). Its amavis*
    // attributes are not part of this subset.
    name: 'amavisAccount',
    oid: '1.3.6.1.4.1.15312.2.2.2.1',
    kind: 'AUXILIARY',
    sup: 'top',
    desc: 'Amavisd Account (marker only in this subset)',
    may: [],
  },
];

function zimbraClass(
  id: number,
  name: string,
  kind: ObjectClassSpec['kind'],
  sup: string,
  desc: string,
): ObjectClassSpec {
  return { name, oid: `${ZIMBRA_OBJECT_CLASS_ARC}.${id}`, kind, sup, desc };
}

/**
 * Standard attributes (core, cosine, inetorgperson) Zimbra entries carry besides their own: cn
 * names servers, COS and the global config; uid, mail, displayName and userPassword accounts.
 */
const STANDARD_ATTRIBUTES = ['cn', 'description', 'uid', 'mail', 'displayName', 'userPassword'];

const DIRECTORY_STRING = '1.3.6.1.4.1.1466.115.121.1.15';
const BOOLEAN = '1.3.6.1.4.1.1466.115.121.1.7';

/** The `( … )` definition of one attribute type (RFC 4512 AttributeTypeDescription). */
export function renderAttributeType(spec: AttributeSpec): string {
  const parts = [`${ZIMBRA_ATTRIBUTE_ARC}.${spec.id}`, `NAME '${spec.name}'`];
  parts.push(`DESC '${quoteDescription(spec.doc)}'`);
  if (spec.type === 'boolean') {
    parts.push('EQUALITY booleanMatch', `SYNTAX ${BOOLEAN}`);
  } else {
    parts.push(
      'EQUALITY caseIgnoreMatch',
      'SUBSTR caseIgnoreSubstringsMatch',
      `SYNTAX ${DIRECTORY_STRING}`,
    );
  }
  if (spec.cardinality === 'single') parts.push('SINGLE-VALUE');
  return `( ${parts.join(' ')} )`;
}

function renderObjectClass(spec: ObjectClassSpec, allAttributes: readonly string[]): string {
  const may = spec.may ?? [...STANDARD_ATTRIBUTES, ...allAttributes];
  const parts = [
    spec.oid,
    `NAME '${spec.name}'`,
    `DESC '${quoteDescription(spec.desc)}'`,
    `SUP ${spec.sup}`,
    spec.kind,
  ];
  if (may.length > 0) parts.push(`MAY ( ${may.join(' $ ')} )`);
  return `( ${parts.join(' ')} )`;
}

/**
 * The schema as one cn=config entry (`cn=zimbra,cn=schema,cn=config`), for `slapadd -n0`
 * (`include: file://…`) or `ldapadd` to a running slapd's cn=config.
 */
export function renderOpenLdapSchema(
  catalog: readonly AttributeSpec[] = ATTRIBUTE_CATALOG,
): string {
  const sorted = [...catalog].sort((a, b) => a.id - b.id);
  const names = sorted.map((spec) => spec.name);
  const lines = [
    '# Zimbra schema subset for OpenLDAP (cn=config), generated by zmproxy from its attribute',
    "# catalog: Zimbra's OIDs, lenient syntaxes. Regenerate with `node scripts/schema.js`.",
    'dn: cn=zimbra,cn=schema,cn=config',
    'objectClass: olcSchemaConfig',
    'cn: zimbra',
    ...sorted.map((spec) => foldLdifLine(`olcAttributeTypes: ${renderAttributeType(spec)}`)),
    ...OBJECT_CLASSES.map((spec) =>
      foldLdifLine(`olcObjectClasses: ${renderObjectClass(spec, names)}`),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * A DESC value as an RFC 4512 qdstring: `'` and `\` escaped; non-ASCII replaced, because an
 * LDIF plain value must be ASCII (RFC 2849 SAFE-STRING).
 */
function quoteDescription(text: string): string {
  return text
    .replace(/\u2026/g, '...')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/\\/g, '\\5C')
    .replace(/'/g, '\\27');
}

/** Folds a long LDIF line at 76 characters (continuations start with one space). */
function foldLdifLine(line: string, width = 76): string {
  if (line.length <= width) return line;
  const pieces = [line.slice(0, width)];
  for (let i = width; i < line.length; i += width - 1)
    pieces.push(` ${line.slice(i, i + width - 1)}`);
  return pieces.join('\n');
}
