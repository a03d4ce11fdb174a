/** The localconfig source's I/O edge: reads localconfig.xml. */
import { readFile } from 'node:fs/promises';
import { ProxyConfError } from '../../errors.js';
import type { LocalConfig } from '../../model/localconfig-defaults.js';
import { parseLocalConfig } from './parse-localconfig.js';
import { describeReadError } from '../describe-read-error.js';

/** Reads and parses localconfig.xml; no file means an empty localconfig (defaults apply later). */
export async function readLocalConfig(file?: string): Promise<LocalConfig> {
  if (file === undefined) return new Map();
  let xml: string;
  try {
    xml = await readFile(file, 'utf8');
  } catch (error) {
    throw new ProxyConfError('E_INPUT', `${file}: ${describeReadError(error)}`, {
      hint: "give the path of Zimbra's localconfig.xml (usually /opt/zimbra/conf/localconfig.xml), or leave the option out to use Zimbra's defaults",
      cause: error,
    });
  }
  return parseLocalConfig(xml, file);
}
