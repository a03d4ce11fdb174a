import { describe, expect, it } from 'vitest';
import { createDirectoryQueries } from '../../../src/lookup/directory-queries.js';
import type { DirectoryQuery } from '../../../src/lookup/ports.js';
import { computeLookupSettings } from '../../../src/lookup/settings.js';

const settings = computeLookupSettings({ zimbraDefaultDomainName: ['d.test'] }).settings;

describe('directory queries', () => {
  it.each([["x$'"], ['x$`'], ['x$&'], ['a*)(uid=*'], ['a\\b']])(
    'puts the login %s into the mail host query as one escaped value',
    async (login) => {
      const filters: string[] = [];
      const queries = createDirectoryQueries(
        {
          search: (query: DirectoryQuery) => {
            filters.push(query.filter);
            return Promise.resolve([]);
          },
          verifyPassword: () => Promise.resolve(false),
        },
        { now: () => 0 },
      );
      await queries.accountByName(settings, login);
      const filter = filters[0]!;
      // Balanced parentheses: nothing of the login escaped into the filter's structure.
      const depth = [...filter].reduce(
        (d, c) => (d < 0 ? d : c === '(' ? d + 1 : c === ')' ? d - 1 : d),
        0,
      );
      expect(depth).toBe(0);
      expect(filter).not.toContain('${USER}');
      expect(filter).not.toMatch(/[^\\]\*/);
    },
  );
});
