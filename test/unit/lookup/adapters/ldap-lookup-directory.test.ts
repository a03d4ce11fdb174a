import {
  AdminLimitExceededError,
  BusyError,
  InvalidCredentialsError,
  NoSuchObjectError,
  TimeLimitExceededError,
  UnavailableError,
  UnwillingToPerformError,
} from 'ldapts';
import type { Client } from 'ldapts';
import { describe, expect, it, vi } from 'vitest';
import { createLdapLookupDirectory } from '../../../../src/lookup/adapters/ldap-lookup-directory.js';
import { connectLdap } from '../../../../src/sources/ldap/index.js';

// The bind connections come from connectLdap; a fake client stands in for slapd's answers (the
// integration project binds against a real slapd).
vi.mock('../../../../src/sources/ldap/index.js', async (importOriginal) => ({
  ...(await importOriginal<Record<string, unknown>>()),
  connectLdap: vi.fn(),
}));

const DN = 'uid=alice,ou=people,dc=d,dc=test';

/** A directory whose bind connections answer `bind` with `outcome`. */
function directoryAnswering(outcome: Error | undefined) {
  const client = {
    bind: vi.fn(() => (outcome === undefined ? Promise.resolve() : Promise.reject(outcome))),
    unbind: vi.fn(() => Promise.resolve()),
  };
  vi.mocked(connectLdap).mockResolvedValue(client as unknown as Client);
  const directory = createLdapLookupDirectory({
    urls: ['ldap://127.0.0.1:1'],
    bindDn: 'uid=zimbra,cn=admins,cn=zimbra',
    bindPassword: 'secret',
    bindPoolSize: 1,
  });
  return { directory, client };
}

describe('createLdapLookupDirectory verifyPassword', () => {
  it('is true when the bind succeeds', async () => {
    const { directory } = directoryAnswering(undefined);
    await expect(directory.verifyPassword(DN, 'right')).resolves.toBe(true);
  });

  it.each([
    ['invalidCredentials (49)', new InvalidCredentialsError('Invalid Credentials')],
    ['noSuchObject (32)', new NoSuchObjectError('No Such Object')],
  ])('is false when the directory answers %s', async (_name, error) => {
    const { directory } = directoryAnswering(error);
    await expect(directory.verifyPassword(DN, 'wrong')).resolves.toBe(false);
  });

  it.each([
    ['busy (51)', new BusyError('Busy')],
    ['unavailable (52)', new UnavailableError('Unavailable')],
    ['timeLimitExceeded (3)', new TimeLimitExceededError('Time Limit Exceeded')],
    ['adminLimitExceeded (11)', new AdminLimitExceededError('Admin Limit Exceeded')],
    ['unwillingToPerform (53)', new UnwillingToPerformError('Unwilling To Perform')],
  ])('rejects (directory down, not a wrong password) when it answers %s', async (_name, error) => {
    const { directory } = directoryAnswering(error);
    await expect(directory.verifyPassword(DN, 'right')).rejects.toBe(error);
  });

  it('keeps the connection after a result code, and drops it after a network error', async () => {
    const busy = directoryAnswering(new BusyError('Busy'));
    await expect(busy.directory.verifyPassword(DN, 'right')).rejects.toThrow();
    await expect(busy.directory.verifyPassword(DN, 'right')).rejects.toThrow();
    expect(connectLdap).toHaveBeenCalledTimes(1);
    expect(busy.client.unbind).not.toHaveBeenCalled();

    vi.mocked(connectLdap).mockClear();
    const reset = directoryAnswering(new Error('read ECONNRESET'));
    await expect(reset.directory.verifyPassword(DN, 'right')).rejects.toThrow('ECONNRESET');
    expect(reset.client.unbind).toHaveBeenCalledTimes(1);
  });
});
