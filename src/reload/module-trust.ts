/**
 * Which shared objects nginx may load. `load_module` runs the library's constructors in the
 * process that reads the configuration, and `--apply`/`--watch` run `nginx -t` as root: a module
 * path from localconfig (writable by the zimbra user) or from a template must not let another
 * user run code as root. A module is trusted when the file and every directory on its path (as
 * written and after symlinks) belong to root (or to the user running zmproxy) and are writable by
 * no one else. nginx's own module directory (/usr/lib/nginx/modules on Debian) passes. See
 * docs/security.md.
 */
import { lstat, readFile, readdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { findIncludes, findLoadModules } from '../model/load-module.js';
import type { ModuleTrust } from '../ports.js';

/** The owners a module file and its directories may have: root, and the user running us. */
function trustedOwners(): ReadonlySet<number> {
  const euid = typeof process.geteuid === 'function' ? process.geteuid() : 0;
  return new Set([0, euid]);
}

/** The check of {@link ModuleTrust} on the real file system. */
export const checkModuleTrust: ModuleTrust = async (path) => {
  if (!isAbsolute(path)) return 'the path is not absolute';
  const owners = trustedOwners();
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    return `cannot resolve it (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  const file = await lstat(real);
  if (!file.isFile()) return 'it is not a regular file';
  const fileReason = ownershipReason(file, owners);
  if (fileReason !== undefined) return `the file ${real} ${fileReason}`;
  for (const dir of new Set([...ancestors(resolve(path)), ...ancestors(real)])) {
    let info;
    try {
      info = await lstat(dir);
    } catch (error) {
      return `cannot inspect ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
    }
    // A symlinked directory is judged by its own owner; its target is on the real path.
    if (info.isSymbolicLink()) {
      if (!owners.has(info.uid)) return `the symlink ${dir} belongs to uid ${info.uid}`;
      continue;
    }
    const reason = ownershipReason(info, owners);
    if (reason !== undefined) return `the directory ${dir} ${reason}`;
  }
  return undefined;
};

function ownershipReason(
  info: { uid: number; mode: number },
  owners: ReadonlySet<number>,
): string | undefined {
  if (!owners.has(info.uid)) return `belongs to uid ${info.uid}, not root`;
  if ((info.mode & 0o022) !== 0) return 'is writable by its group or by others';
  return undefined;
}

/** `/a/b/c.so` → `/a/b`, `/a`, `/`. */
function ancestors(path: string): string[] {
  const dirs: string[] = [];
  let dir = dirname(path);
  for (;;) {
    dirs.push(dir);
    const parent = dirname(dir);
    if (parent === dir) return dirs;
    dir = parent;
  }
}

/**
 * The `load_module` paths of a main configuration file and of the files it includes, for the
 * check just before `nginx -t`. As in nginx, a relative include resolves against the main file's
 * directory and a relative module against the prefix (`-p`); `*` matches within one directory.
 */
export async function loadModulesOfConfig(confFile: string, prefix: string): Promise<string[]> {
  const mainFile = resolve(prefix, confFile);
  const confDir = dirname(mainFile);
  const seen = new Set<string>();
  const modules: string[] = [];
  const visit = async (file: string): Promise<void> => {
    if (seen.has(file) || seen.size > 1000) return;
    seen.add(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return; // nginx -t reports the missing file itself
    }
    modules.push(...findLoadModules(text).map((module) => resolve(prefix, module)));
    for (const pattern of findIncludes(text)) {
      const absolute = resolve(confDir, pattern);
      for (const included of await expandGlob(absolute)) await visit(included);
    }
  };
  await visit(mainFile);
  return modules;
}

async function expandGlob(pattern: string): Promise<string[]> {
  if (!/[*?[]/.test(pattern)) return [pattern];
  const dir = dirname(pattern);
  const base = pattern.slice(dir.length + 1);
  const regex = new RegExp(
    `^${base
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  try {
    return (await readdir(dir))
      .filter((name) => regex.test(name))
      .sort()
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}
