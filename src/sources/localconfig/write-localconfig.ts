/**
 * Writes localconfig.xml in Zimbra's shape (`<localconfig>` with one `<key name><value>` per
 * key, names sorted), atomically and with mode 0600: it holds the LDAP and lookup passwords.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ProxyConfError } from '../../errors.js';
import { describeReadError } from '../describe-read-error.js';
import type { LocalConfig } from '../../model/localconfig-defaults.js';
import { syncDirectory, writeNewFileDurable } from '../../writer/durable-files.js';
import { parseLocalConfig } from './parse-localconfig.js';

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** The XML text of a localconfig. */
export function formatLocalConfig(lc: LocalConfig): string {
  const keys = [...lc.keys()].sort();
  const body = keys
    .map(
      (key) =>
        `  <key name="${escapeXml(key)}">\n    <value>${escapeXml(lc.get(key) ?? '')}</value>\n  </key>\n`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n\n<localconfig>\n${body}</localconfig>\n`;
}

/**
 * Applies `edits` (key → value; undefined removes the key) to the file, creating it when absent.
 * Returns the localconfig as written.
 */
export async function editLocalConfigFile(
  file: string,
  edits: ReadonlyMap<string, string | undefined>,
): Promise<LocalConfig> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const lc = new Map(text === undefined ? [] : parseLocalConfig(text, file));
  for (const [key, value] of edits) {
    if (value === undefined) lc.delete(key);
    else lc.set(key, value);
  }
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeNewFileDurable(temp, formatLocalConfig(lc), 0o600);
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new ProxyConfError('E_WRITE', `cannot write ${file}: ${describeReadError(error)}`, {
      hint: existsSync(dirname(file))
        ? `check the permissions of ${dirname(file)} (run as root, or as the owner of the file)`
        : `${dirname(file)} does not exist: zmproxyctl setup -w ${dirname(dirname(file))} creates it`,
      cause: error,
    });
  }
  await syncDirectory(dirname(file));
  return lc;
}
