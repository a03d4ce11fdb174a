import { describe, expect, it } from 'vitest';
import { equalsIgnoreCaseJava } from '../../../src/render/header.js';
import { parseHeader } from '../../../src/render/index.js';

describe('parseHeader', () => {
  it('sees no directive in an ordinary first line', () => {
    expect(parseHeader('worker_processes ${main.workers};')).toEqual({ kind: 'none' });
  });

  it('reads the domain filter arguments, split on commas with optional blanks', () => {
    expect(parseHeader('!{explode domain(vhn,sso,\t x)}')).toEqual({
      kind: 'domain',
      args: ['vhn', 'sso', 'x'],
    });
  });

  it('reads an empty domain argument list as no filter', () => {
    expect(parseHeader('!{explode domain()}')).toEqual({ kind: 'domain', args: [] });
  });

  it('reads the service of a server explosion', () => {
    expect(parseHeader('!{explode server(docs)}')).toEqual({ kind: 'server', service: 'docs' });
  });

  it('accepts several blanks between the command and its argument', () => {
    expect(parseHeader('!{explode \t domain(vhn)}')).toEqual({ kind: 'domain', args: ['vhn'] });
  });

  it('ignores text around the directive', () => {
    expect(parseHeader('# generated !{explode server(docs)} do not edit')).toEqual({
      kind: 'server',
      service: 'docs',
    });
  });

  it('recognises the legacy form case-insensitively, on the whole line only', () => {
    expect(parseHeader('!{explode vhn_vip_ssl}')).toEqual({ kind: 'legacy' });
    expect(parseHeader('!{EXPLODE VHN_VIP_SSL}')).toEqual({ kind: 'legacy' });
    expect(parseHeader(' !{explode vhn_vip_ssl}')).toEqual({
      kind: 'error',
      message: 'Illegal custom header command: explode vhn_vip_ssl',
    });
  });

  it('rejects a server explosion without a service', () => {
    expect(parseHeader('!{explode server()}')).toEqual({
      kind: 'error',
      message: 'Missing service parameter in custom header command: explode server()',
    });
  });

  it.each([
    ['an unknown command', '!{include foo}', 'include foo'],
    ['explode without an argument', '!{explode}', 'explode'],
    ['an unknown explode target', '!{explode account(x)}', 'explode account(x)'],
    ['a blank before the command', '!{ explode domain(vhn)}', ' explode domain(vhn)'],
    ['text after the closing parenthesis', '!{explode domain(vhn) }', 'explode domain(vhn) '],
    ['a command in the wrong case', '!{Explode domain(vhn)}', 'Explode domain(vhn)'],
  ])('rejects %s', (_what, line, directive) => {
    expect(parseHeader(line)).toEqual({
      kind: 'error',
      message: `Illegal custom header command: ${directive}`,
    });
  });
});

describe('the legacy header compared as Java compares it', () => {
  it.each([
    '!{explode vhn_vip_ſſl}',
    '!{explode vhn_vıp_ssl}',
    '!{explode vhn_vİp_ssl}',
    '!{EXPLODE VHN_VIP_SSL}',
  ])('%s is the legacy header, as in Zimbra', (line) => {
    expect(parseHeader(line)).toEqual({ kind: 'legacy' });
  });

  it('keeps lengths apart: ß is not ss', () => {
    expect(equalsIgnoreCaseJava('ß', 'ss')).toBe(false);
    expect(equalsIgnoreCaseJava('ß', 'SS')).toBe(false);
    expect(equalsIgnoreCaseJava('\u212a', 'k')).toBe(true); // the Kelvin sign lower-cases to k
  });
});
