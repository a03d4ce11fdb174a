import { describe, expect, it } from 'vitest';
import { DOCTOR_CHECKS, checkTitle } from '../../../../src/doctor/checks/index.js';

describe('DOCTOR_CHECKS', () => {
  it('has one entry per id, each with a title and at least one input', () => {
    const ids = DOCTOR_CHECKS.map((check) => check.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const check of DOCTOR_CHECKS) {
      expect(check.title).not.toBe('');
      expect(check.needs.length).toBeGreaterThan(0);
    }
    expect(checkTitle('lookup-handlers')).toBe('Lookup handlers');
    expect(checkTitle('no-such-check')).toBe('no-such-check');
  });
});
