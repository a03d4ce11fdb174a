/** Group names to ids, from /etc/group (the worker group of nginx owns the keys it loads). */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** The id of group `name` in /etc/group, or undefined when there is no such group. */
export async function lookupGroupId(
  name: string,
  file = '/etc/group',
): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  return groupIdIn(text, name);
}

/** {@link lookupGroupId}, synchronously (for the set-up steps, which run synchronously). */
export function lookupGroupIdSync(name: string, file = '/etc/group'): number | undefined {
  try {
    return groupIdIn(readFileSync(file, 'utf8'), name);
  } catch {
    return undefined;
  }
}

function groupIdIn(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}
