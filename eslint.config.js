// Lint rules, including the module boundaries of docs/architecture.md:
// src/common is a pure leaf (addresses, the error base) that every layer uses;
// src/ovsdb imports no other layer; src/namespace knows no SB or proxy;
// src/proxy knows no iproute2 or SB; only src/agent joins them. The pure
// parts of src/ovsdb (wire/, replica/, framing, decoder, jsonrpc) may not touch sockets.
// A layer is imported by the others only through its index.ts.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const LAYERS = ['ovsdb', 'namespace', 'proxy', 'agent', 'verify', 'sandbox', 'cli'];
// Every other layer through its index.ts only (src/common has none: its modules are the API).
const throughIndex = (self) => ({
  group: LAYERS.filter((l) => l !== self).flatMap((l) => [`**/${l}/*`, `!**/${l}/index.js`]),
  message: 'import another layer through its index.ts only',
});
const layer = (self, files, patterns = []) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [...patterns, throughIndex(self)] }] },
});
const socketFree = [
  { group: ['node:net', 'node:tls', 'net', 'tls'], message: 'pure module: no sockets here' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.bench/**'] },
  { languageOptions: { globals: globals.node } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  layer(
    'common',
    ['src/common/**/*.ts'],
    [
      {
        group: [
          '**/ovsdb/**',
          '**/namespace/**',
          '**/proxy/**',
          '**/agent/**',
          '**/verify/**',
          '**/sandbox/**',
          '**/cli/**',
        ],
        message: 'src/common is a pure leaf that every layer may use: it imports no layer',
      },
      {
        group: ['node:*', 'net', 'tls', 'fs', 'fs/promises', 'child_process', 'execa'],
        message: 'src/common is pure: no I/O',
      },
    ],
  ),
  layer(
    'ovsdb',
    ['src/ovsdb/**/*.ts'],
    [
      {
        group: ['**/namespace/**', '**/proxy/**', '**/agent/**', '**/cli/**'],
        message: 'src/ovsdb is a general OVSDB client and imports no other layer',
      },
    ],
  ),
  layer(
    'ovsdb',
    [
      'src/ovsdb/wire/**/*.ts',
      'src/ovsdb/replica/**/*.ts',
      'src/ovsdb/framing.ts',
      'src/ovsdb/decoder.ts',
      'src/ovsdb/jsonrpc.ts',
    ],
    [
      ...socketFree,
      {
        group: ['**/namespace/**', '**/proxy/**', '**/agent/**', '**/cli/**'],
        message: 'src/ovsdb imports no other layer',
      },
    ],
  ),
  layer(
    'namespace',
    ['src/namespace/**/*.ts'],
    [
      {
        group: ['**/proxy/**', '**/agent/**', '**/cli/**'],
        message: 'src/namespace knows only the host plumbing',
      },
    ],
  ),
  layer(
    'proxy',
    ['src/proxy/**/*.ts'],
    [
      {
        group: [
          '**/namespace/**',
          '**/agent/**',
          '**/cli/**',
          '**/ovsdb/**',
          '**/verify/**',
          '**/sandbox/**',
          'execa',
        ],
        message: 'src/proxy knows no SB and no iproute2: it imports only src/common',
      },
    ],
  ),
  layer('agent', ['src/agent/**/*.ts']),
  layer('verify', ['src/verify/**/*.ts']),
  layer('sandbox', ['src/sandbox/**/*.ts']),
  layer('cli', ['src/cli/**/*.ts']),
);
