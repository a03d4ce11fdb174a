import { describe, expect, it } from 'vitest';
import { splitTemplateLines } from '../../../src/render/index.js';

describe('splitTemplateLines', () => {
  it('splits on LF, CRLF and a lone CR', () => {
    expect(splitTemplateLines('a\nb\r\nc\rd')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('does not start a line after the final terminator', () => {
    expect(splitTemplateLines('a\n')).toEqual(['a']);
    expect(splitTemplateLines('a\r\n')).toEqual(['a']);
  });

  it('keeps blank lines, including a blank last line', () => {
    expect(splitTemplateLines('a\n\nb\n\n')).toEqual(['a', '', 'b', '']);
    expect(splitTemplateLines('\n')).toEqual(['']);
  });

  it('finds no line in an empty text', () => {
    expect(splitTemplateLines('')).toEqual([]);
  });

  it('reads CR LF as one terminator but LF CR as two', () => {
    expect(splitTemplateLines('a\n\rb')).toEqual(['a', '', 'b']);
  });
});
