import { describe, expect, it } from 'vitest';
import { computeLookupSettings, listChangedSettings } from '../../../src/lookup/settings.js';

describe('listChangedSettings', () => {
  it('names what changed, throttle members by name', () => {
    const before = computeLookupSettings({}).settings;
    const after = computeLookupSettings({
      zimbraReverseProxyUserLoginLimit: ['3'],
      zimbraReverseProxyCacheEntryTTL: ['5m'],
    }).settings;
    expect(listChangedSettings(before, after)).toEqual(['cacheTtlSeconds', 'throttle.user']);
    expect(listChangedSettings(after, after)).toEqual([]);
  });
});
