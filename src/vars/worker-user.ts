/**
 * The user and group nginx's workers run as, for the stock templates' `user` directive: localconfig
 * `zimbra_user` (Zimbra's name for the account its services run as) and `zmproxy_nginx_group`.
 * Without `zimbra_user` the directive is left out and nginx keeps its compiled-in default
 * (`nobody`, group `nogroup` on Debian), which is what a bare host has; zmproxyctl setup writes
 * the key when given `--nginx-user`. Both names reach nginx.conf, so both are checked here; that
 * the user exists on the host is checked by the generator's caller (it reads /etc/passwd).
 */
import type { VarContext } from './types.js';

/** The localconfig key naming the workers' user. */
export const WORKER_USER_KEY = 'zimbra_user';
/** The localconfig key naming the workers' group (the group the domain keys are readable by). */
export const WORKER_GROUP_KEY = 'zmproxy_nginx_group';

/** A POSIX-portable user or group name (useradd's default NAME_REGEX, with upper case). */
const ACCOUNT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

const CHECKED = new WeakMap<VarContext, { user: string; group: string }>();

/** The workers' user ('' when localconfig names none) and group; invalid names are problems. */
export function computeWorkerAccount(ctx: VarContext): { user: string; group: string } {
  const known = CHECKED.get(ctx);
  if (known !== undefined) return known;
  const read = (key: string, fallback: string): string => {
    const value = ctx.lc.text(key, fallback).trim();
    if (value === '' || ACCOUNT_NAME.test(value)) return value;
    ctx.problem({
      subject: key,
      entry: 'localconfig',
      message: 'must be a user or group name of this host (letters, digits, _ . -)',
      value,
      hint: `zmlocalconfig -e ${key}=${fallback === '' ? 'nobody' : fallback}`,
    });
    return fallback;
  };
  const account = { user: read(WORKER_USER_KEY, ''), group: read(WORKER_GROUP_KEY, 'nogroup') };
  CHECKED.set(ctx, account);
  return account;
}
