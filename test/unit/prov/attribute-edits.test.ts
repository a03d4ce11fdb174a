import { describe, expect, it } from 'vitest';
import {
  parseAttributeEdits,
  planAttributeChanges,
  suggestAttributes,
} from '../../../src/prov/attribute-edits.js';
import { domain, globalConfig, server } from '../../helpers/builders.js';
import { CERT_A } from '../../helpers/pem.js';

const MBOX = server('mbox1.example.com', {
  zimbraServiceEnabled: ['mailbox', 'service'],
  zimbraMailMode: 'https',
});

function plan(entry = MBOX, args: string[], allowSafeguardedReplace = false) {
  return planAttributeChanges(entry, parseAttributeEdits(args, 'ms'), { allowSafeguardedReplace });
}

function problemsOf(entry = MBOX, args: string[]) {
  const result = plan(entry, args);
  if (result.ok) throw new Error('expected problems');
  return result.problems.map((problem) => `${problem.subject}: ${problem.message}`);
}

describe('parseAttributeEdits', () => {
  it('reads attr value, +attr value, -attr value and attr ""', () => {
    expect(parseAttributeEdits(['a', '1', '+b', '2', '-c', '3', 'd', ''], 'ms')).toEqual([
      { op: 'set', attribute: 'a', value: '1' },
      { op: 'add', attribute: 'b', value: '2' },
      { op: 'remove', attribute: 'c', value: '3' },
      { op: 'set', attribute: 'd', value: '' },
    ]);
  });

  it('refuses an attribute without a value', () => {
    expect(() => parseAttributeEdits(['zimbraMailMode'], 'ms')).toThrow(
      /attribute "zimbraMailMode" has no value/,
    );
    expect(() => parseAttributeEdits([], 'mcf')).toThrow(/no attribute given/);
  });
});

describe('planAttributeChanges', () => {
  it('replaces a value, in the catalog spelling', () => {
    expect(plan(MBOX, ['zimbramailmode', 'both'])).toEqual({
      ok: true,
      changes: [{ operation: 'replace', attribute: 'zimbraMailMode', values: ['both'] }],
    });
  });

  it('stores an enum value in the catalog spelling', () => {
    expect(plan(MBOX, ['zimbraMailMode', 'HTTPS'])).toEqual({ ok: true, changes: [] });
  });

  it('drops no-op edits: same value, present +value, absent -value', () => {
    expect(
      plan(MBOX, [
        'zimbraMailMode',
        'https',
        '+zimbraServiceEnabled',
        'mailbox',
        '-zimbraServiceEnabled',
        'proxy',
      ]),
    ).toEqual({ ok: true, changes: [] });
  });

  it('adds and removes single values of a multi-valued attribute', () => {
    expect(
      plan(MBOX, ['+zimbraServiceEnabled', 'proxy', '-zimbraServiceEnabled', 'service']),
    ).toEqual({
      ok: true,
      changes: [
        { operation: 'delete', attribute: 'zimbraServiceEnabled', values: ['service'] },
        { operation: 'add', attribute: 'zimbraServiceEnabled', values: ['proxy'] },
      ],
    });
  });

  it("clears an attribute with ''", () => {
    expect(plan(MBOX, ['zimbraMailMode', ''])).toEqual({
      ok: true,
      changes: [{ operation: 'replace', attribute: 'zimbraMailMode', values: [] }],
    });
  });

  it('sets several values of a multi-valued attribute given several times', () => {
    expect(
      plan(globalConfig(), [
        'zimbraReverseProxySSLProtocols',
        'TLSv1.2',
        'zimbraReverseProxySSLProtocols',
        'TLSv1.3',
      ]),
    ).toEqual({
      ok: true,
      changes: [
        {
          operation: 'replace',
          attribute: 'zimbraReverseProxySSLProtocols',
          values: ['TLSv1.2', 'TLSv1.3'],
        },
      ],
    });
  });

  it('checks every type: port, integer bounds, boolean, enum, duration', () => {
    expect(
      problemsOf(MBOX, [
        'zimbraMailPort',
        '65536',
        'zimbraReverseProxyWorkerProcesses',
        '17',
        'zimbraReverseProxyLookupTarget',
        'true',
        'zimbraMailMode',
        'secure',
        'zimbraReverseProxyUpstreamReadTimeout',
        '10 minutes',
      ]),
    ).toEqual([
      'zimbraMailPort: not a port number (0 to 65535)',
      'zimbraReverseProxyWorkerProcesses: must be at most 16',
      'zimbraReverseProxyLookupTarget: not a boolean: use TRUE or FALSE',
      'zimbraMailMode: must be one of http, https, both, mixed, redirect',
      'zimbraReverseProxyUpstreamReadTimeout: not a duration: use digits with an optional unit d, h, m, s or ms',
    ]);
  });

  it('refuses line breaks and control characters, but lets a certificate span lines', () => {
    expect(problemsOf(MBOX, ['zimbraReverseProxyDefaultRealm', 'a\nb'])).toEqual([
      'zimbraReverseProxyDefaultRealm: contains a line break',
    ]);
    expect(problemsOf(MBOX, ['zimbraSSLCertificate', 'a\u0000b'])).toEqual([
      'zimbraSSLCertificate: contains a control character',
    ]);
    expect(plan(MBOX, ['zimbraSSLCertificate', `${CERT_A}\n`]).ok).toBe(true);
  });

  it('names an unknown attribute with the closest catalog names', () => {
    const result = plan(MBOX, ['zimbraMailModes', 'https']);
    expect(result).toMatchObject({
      ok: false,
      problems: [
        {
          subject: 'zimbraMailModes',
          message: 'unknown attribute',
          hint: expect.stringContaining('did you mean zimbraMailMode') as unknown,
        },
      ],
    });
    expect(suggestAttributes('zimbraReverseProxyLookupTargt')).toContain(
      'zimbraReverseProxyLookupTarget',
    );
  });

  it('refuses a single-valued attribute given twice and +attr on a single-valued one', () => {
    expect(
      problemsOf(MBOX, ['zimbraMailPort', '80', 'zimbraMailPort', '81', '+zimbraMailMode', 'http']),
    ).toEqual([
      'zimbraMailPort: is single-valued but was given 2 values',
      'zimbraMailMode: is single-valued; +zimbraMailMode would add a second value',
    ]);
  });

  it('refuses an attribute the object class does not allow', () => {
    expect(problemsOf(MBOX, ['zimbraReverseProxyCacheEntryTTL', '1h'])).toEqual([
      'zimbraReverseProxyCacheEntryTTL: cannot be set on a server entry (it belongs to: globalConfig)',
    ]);
    expect(problemsOf(domain('example.com'), ['zimbraMailMode', 'https'])).toEqual([
      'zimbraMailMode: cannot be set on a domain entry (it belongs to: globalConfig, server)',
    ]);
  });

  it('refuses immutable attributes', () => {
    expect(problemsOf(domain('example.com'), ['zimbraDomainName', 'other.com'])).toEqual([
      'zimbraDomainName: is immutable and cannot be changed',
    ]);
  });

  it('refuses replacing zimbraServiceEnabled without -r, and allows it with -r', () => {
    expect(problemsOf(MBOX, ['zimbraServiceEnabled', 'proxy'])).toEqual([
      'zimbraServiceEnabled: replacing every value of this multi-valued attribute needs -r',
    ]);
    expect(plan(MBOX, ['zimbraServiceEnabled', 'proxy'], true)).toEqual({
      ok: true,
      changes: [{ operation: 'replace', attribute: 'zimbraServiceEnabled', values: ['proxy'] }],
    });
  });

  it('refuses mixing a replace with +attr/-attr', () => {
    expect(
      problemsOf(MBOX, [
        'zimbraReverseProxyAvailableLookupTargets',
        'a',
        '+zimbraReverseProxyAvailableLookupTargets',
        'b',
      ]),
    ).toEqual([
      'zimbraReverseProxyAvailableLookupTargets: is both replaced (attr value) and changed with +attr/-attr',
    ]);
  });

  it('reports every problem of the command line at once', () => {
    expect(
      problemsOf(MBOX, ['zimbraFoo', '1', 'zimbraMailPort', 'x', 'zimbraAdminPort', '-1']),
    ).toHaveLength(3);
  });
});
