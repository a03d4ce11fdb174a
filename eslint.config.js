// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import vitest from '@vitest/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Modules the pure core must never import (docs/architecture.md "What may import what"). */
const IO_MODULES = [
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:http',
  'node:https',
  'node:child_process',
  'node:dns',
  'node:dns/promises',
  'node:os',
  'yargs',
  'yargs/helpers',
];

/** @param {string[]} extra */
const restrict = (extra = []) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: [...IO_MODULES, ...extra].map((name) => ({
        name,
        message: 'I/O belongs at the edges',
      })),
      patterns: [
        {
          group: ['**/cli/**', '**/sources/**', '**/writer/**'],
          message: 'the core imports no adapter',
        },
      ],
    },
  ],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bin/**', 'out/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: [
      'src/model/**',
      'src/resolve/**',
      'src/vars/**',
      'src/render/**',
      'src/plan/**',
      'src/prov/**',
    ],
    rules: restrict(),
  },
  {
    // The lookup core: headers in, decision out, over the ports of lookup/ports.ts.
    files: ['src/lookup/**'],
    ignores: ['src/lookup/adapters/**'],
    rules: restrict(['node:cluster', 'node:crypto', 'node:tls', 'ldapts', 'pino', 'prom-client']),
  },
  {
    files: ['test/**'],
    plugins: { vitest },
    rules: {
      ...vitest.configs.recommended.rules,
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['bench/**', 'bin/**', 'scripts/**', '*.js'],
    languageOptions: { globals: globals.node },
  },
  prettier,
);
