/** Typed reads of localconfig keys with Zimbra's defaults (an empty value counts as unset). */
import type { LocalConfig } from '../model/localconfig-defaults.js';
import { LOCALCONFIG_DEFAULTS } from '../model/localconfig-defaults.js';
import { controlCharacterReason, parseInteger, unsafeTokenReason } from '../model/value-types.js';
import type { ProblemSink } from './attribute-reader.js';

/** Reads localconfig keys. */
export interface LocalConfigReader {
  /** The value, or Zimbra's default, or `codeDefault` for a key Zimbra does not declare. */
  text(key: string, codeDefault?: string): string;
  /** A value that stands as one bare nginx token (no `;`, braces, quotes, white space, `#` first). */
  token(key: string, codeDefault?: string): string;
  integer(key: string, codeDefault?: number): number;
  /** Java's Boolean.valueOf: true only for `true` in any case. */
  boolean(key: string, codeDefault?: boolean): boolean;
}

/** Creates a reader over a parsed localconfig. */
export function createLocalConfigReader(lc: LocalConfig, sink: ProblemSink): LocalConfigReader {
  const raw = (key: string, codeDefault: string | undefined): string => {
    const own = lc.get(key);
    if (own !== undefined && own !== '') return own;
    return LOCALCONFIG_DEFAULTS[key] ?? codeDefault ?? '';
  };
  const report = (key: string, value: string, message: string): void =>
    sink.problem({
      subject: key,
      entry: 'localconfig',
      message,
      value,
      hint: `zmlocalconfig -e ${key}=<value>`,
    });
  return {
    text(key, codeDefault) {
      const value = raw(key, codeDefault);
      const why = controlCharacterReason(value);
      if (why === undefined) return value;
      report(key, value, why);
      return LOCALCONFIG_DEFAULTS[key] ?? codeDefault ?? '';
    },
    token(key, codeDefault) {
      const value = raw(key, codeDefault);
      const why = unsafeTokenReason(value);
      if (why === undefined) return value;
      report(key, value, why);
      return LOCALCONFIG_DEFAULTS[key] ?? codeDefault ?? '';
    },
    integer(key, codeDefault) {
      const value = raw(key, codeDefault === undefined ? undefined : String(codeDefault));
      const parsed = parseInteger(value.trim());
      if (parsed.ok) return parsed.value;
      // ProxyConfGen crashes on an unparseable integer key; we report it with the others.
      report(key, value, parsed.message);
      return Number(LOCALCONFIG_DEFAULTS[key] ?? codeDefault ?? 0);
    },
    boolean(key, codeDefault) {
      return (
        raw(key, codeDefault === undefined ? undefined : String(codeDefault)).toLowerCase() ===
        'true'
      );
    },
  };
}
