// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import vitest from '@vitest/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * The layering of docs/architecture.md "What may import what", as import bans. Each folder gets
 * the I/O modules it may not use and the folders it may not import; `import type` is always
 * allowed (a pure check may name a probe's result type, never call the probe).
 */
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
  'fast-glob',
];

/** Folders by role; the globs match import specifiers such as `../../sources/ldap/index.js`. */
const CLI = '**/cli/**';
const ENGINE = '**/engine/**';
const DOCTOR = '**/doctor/**';
const SOURCES = '**/sources/**';
const WRITER = '**/writer/**';
const RELOAD = '**/reload/**';
const LOOKUP_ADAPTERS = '**/lookup/adapters/**';
const PROBES = '**/probes/**';
const ADAPTERS = [CLI, SOURCES, WRITER, RELOAD, LOOKUP_ADAPTERS, PROBES];

/**
 * @param {{ io?: string[]; folders: string[]; why: string }} options
 *   io: modules banned besides nothing; folders: import globs banned; why: the message
 */
const layer = ({ io = [], folders, why }) => ({
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      paths: io.map((name) => ({
        name,
        message: 'I/O belongs at the edges',
        allowTypeImports: true,
      })),
      patterns: [{ group: folders, message: why, allowTypeImports: true }],
    },
  ],
});

/** The pure core: no I/O, no adapter, and nothing above it (engine, doctor). */
const CORE = layer({
  io: IO_MODULES,
  folders: [...ADAPTERS, ENGINE, DOCTOR],
  why: 'the pure core imports no adapter and nothing that orchestrates it (docs/architecture.md)',
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
    rules: CORE,
  },
  {
    // The lookup core: headers in, decision out, over the ports of lookup/ports.ts.
    files: ['src/lookup/**'],
    ignores: ['src/lookup/adapters/**'],
    rules: layer({
      io: [
        ...IO_MODULES,
        'node:cluster',
        'node:crypto',
        'node:tls',
        'ldapts',
        'pino',
        'prom-client',
      ],
      folders: [...ADAPTERS, ENGINE, DOCTOR, '**/adapters/**'],
      why: 'the lookup core reaches the outside through lookup/ports.ts only',
    }),
  },
  {
    // Doctor checks and the report: facts in, findings out; the probes do the I/O.
    files: ['src/doctor/**'],
    ignores: ['src/doctor/probes/**'],
    rules: layer({
      io: IO_MODULES,
      folders: ADAPTERS,
      why: 'doctor checks are pure: probe results come in as arguments (docs/maintaining.md)',
    }),
  },
  {
    // engine wires generate, --apply and --watch over the ports of src/ports.ts.
    files: ['src/engine/**'],
    rules: layer({
      io: IO_MODULES,
      folders: [...ADAPTERS, DOCTOR],
      why: 'the engine reaches the outside through src/ports.ts only',
    }),
  },
  {
    // writer/ is the lowest adapter: the one home of durable file writes.
    files: ['src/writer/**'],
    rules: layer({
      folders: [CLI, ENGINE, DOCTOR, SOURCES, RELOAD, '**/lookup/**'],
      why: 'writer/ imports no other adapter',
    }),
  },
  {
    // sources/ may write through writer/ (the LDIF store), nothing else of the edges.
    files: ['src/sources/**'],
    rules: layer({
      folders: [CLI, ENGINE, DOCTOR, RELOAD, '**/lookup/**'],
      why: 'sources/ imports no adapter but writer/',
    }),
  },
  {
    // reload/ may use writer/ (generation files), sources/ldap (the input probe's connection) and
    // sources/localconfig (workdir setup writes the shared lookup key).
    files: ['src/reload/**'],
    rules: layer({
      folders: [
        CLI,
        ENGINE,
        DOCTOR,
        '**/lookup/**',
        '**/sources/ldif/**',
        '**/sources/ldif-store/**',
        '**/sources/dns/**',
        '**/sources/memcached/**',
      ],
      why: 'reload/ imports only writer/, sources/ldap and sources/localconfig of the adapters',
    }),
  },
  {
    // The lookup adapters connect to LDAP through sources/ldap and to memcached through sources/memcached.
    files: ['src/lookup/adapters/**'],
    rules: layer({
      folders: [CLI, ENGINE, DOCTOR, WRITER, RELOAD],
      why: 'lookup adapters import only sources/ldap and sources/memcached of the adapters',
    }),
  },
  {
    files: ['src/doctor/probes/**'],
    rules: layer({
      folders: [CLI, ENGINE, WRITER, RELOAD, LOOKUP_ADAPTERS],
      why: 'probes import no other adapter',
    }),
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
