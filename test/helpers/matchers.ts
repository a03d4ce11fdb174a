/** Typed asymmetric matchers for use inside `toEqual` structures. */
import { expect } from 'vitest';

/** A typed stand-in for expect.stringContaining (which is typed any). */
export const containing = (text: string): string => expect.stringContaining(text) as string;
