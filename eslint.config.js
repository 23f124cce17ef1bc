// Lint: typescript-eslint's recommended rules plus the layer rule that keeps Osteon's
// architecture honest (docs/ARCHITECTURE.md). A wrong-layer import fails `npm test`.
import tseslint from 'typescript-eslint';
import svelteParser from 'svelte-eslint-parser';

const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'worker_threads', 'zlib', 'crypto', 'http', 'https', 'net', 'url', 'util', 'stream', 'events'];

/**
 * `no-restricted-imports` sees only static imports; `import('x')` is an ImportExpression, so each
 * layer also lists its forbidden module patterns for dynamic imports (regexes on the specifier).
 */
const dynamicImports = (rules) => ['error', ...rules.map(([re, message]) => ({ selector: `ImportExpression[source.value=/${re}/]`, message }))];

/** app/: the core. Node is allowed, Electron, the DOM and the UI stack are not. */
const appLayer = {
  files: ['app/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: ['electron', 'electron/*'], message: 'layer: app/ never imports Electron (wire it in main/).' },
        { group: ['svelte', 'svelte/*', '@kitware/*'], message: 'layer: app/ never imports the UI stack.' },
        { group: ['**/main/*', '**/main', '**/renderer/*', '**/renderer'], message: 'layer: app/ never imports main/ or renderer/.' },
      ],
    }],
    'no-restricted-syntax': dynamicImports([
      ['^electron(\\/|$)', 'layer: app/ never imports Electron (wire it in main/).'],
      ['^(svelte|@kitware)(\\/|$)', 'layer: app/ never imports the UI stack.'],
      ['(^|\\/)(main|renderer)(\\/|$)', 'layer: app/ never imports main/ or renderer/.'],
    ]),
    'no-restricted-globals': ['error',
      { name: 'window', message: 'layer: app/ has no DOM.' },
      { name: 'document', message: 'layer: app/ has no DOM.' },
      { name: 'navigator', message: 'layer: app/ has no DOM.' },
      { name: 'localStorage', message: 'layer: app/ has no DOM.' },
    ],
  },
};

/** app/contract/: shared with the renderer, so no Node and no tfjs either. */
const contractLayer = {
  files: ['app/contract/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: nodeBuiltins, message: 'layer: app/contract/ is shared with the renderer; no Node.' },
        { group: ['@tensorflow/*', 'electron', 'electron/*'], message: 'layer: app/contract/ is types and schemas only.' },
        { regex: '^\\.\\./(?!contract/|shared/)', message: 'layer: app/contract/ imports nothing else from app/ but app/shared.' },
      ],
    }],
    'no-restricted-syntax': dynamicImports([
      ['^(node:|fs$|path$|os$|child_process$|worker_threads$|zlib$|crypto$)', 'layer: app/contract/ is shared with the renderer; no Node.'],
      ['^(@tensorflow|electron)', 'layer: app/contract/ is types and schemas only.'],
      ['^\\.\\.\\/(?!contract\\/|shared\\/)', 'layer: app/contract/ imports nothing else from app/ but app/shared.'],
    ]),
  },
};

/** app/shared/: pure code both sides run (EDT, ...): no Node, no tfjs, no DOM, nothing else from app/. */
const sharedLayer = {
  files: ['app/shared/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: nodeBuiltins, message: 'layer: app/shared/ runs in the renderer too; no Node.' },
        { group: ['@tensorflow/*', 'electron', 'electron/*', 'zod'], message: 'layer: app/shared/ is plain TypeScript.' },
        { regex: '^\\.\\./', message: 'layer: app/shared/ imports nothing else from app/.' },
      ],
    }],
    'no-restricted-syntax': dynamicImports([['.', 'layer: app/shared/ has no dynamic imports.']]),
  },
};

/** renderer/: the browser. No Node, no tfjs, no app/ internals beyond the contract. */
const rendererLayer = {
  files: ['renderer/**/*.ts', 'renderer/**/*.svelte'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: nodeBuiltins, message: 'layer: renderer/ never imports Node.' },
        { group: ['electron', 'electron/*'], message: 'layer: renderer/ talks to main only through the preload bridge.' },
        { group: ['@tensorflow/*'], message: 'layer: renderer/ never imports tfjs.' },
        { regex: '(^|/)app/(?!contract/|shared/)', message: 'layer: renderer/ imports only app/contract and app/shared from the core.' },
        { group: ['**/main/*', '**/main'], message: 'layer: renderer/ never imports main/.' },
      ],
    }],
    'no-restricted-syntax': dynamicImports([
      ['^(node:|fs$|path$|os$|child_process$|worker_threads$|zlib$|crypto$)', 'layer: renderer/ never imports Node.'],
      ['^electron(\\/|$)', 'layer: renderer/ talks to main only through the preload bridge.'],
      ['^@tensorflow\\/', 'layer: renderer/ never imports tfjs.'],
      ['(^|\\/)app\\/(?!contract\\/|shared\\/)', 'layer: renderer/ imports only app/contract and app/shared from the core.'],
      ['(^|\\/)main(\\/|$)', 'layer: renderer/ never imports main/.'],
    ]),
  },
};

/** Node's modules by bare name only (a gitignore-style group would also match '../util/x.ts'). */
const nodeModuleRegex = '^(node:|(fs|path|os|child_process|worker_threads|zlib|crypto|http|https|net|url|util|stream|events)(/|$))';

/** app/learning/gpu-host/ and webgpu/ (but Dawn's node.ts): the GPU host page bundles them, so browser safe. */
const gpuHostCoreLayer = {
  files: ['app/learning/gpu-host/**/*.ts', 'app/learning/webgpu/**/*.ts'],
  ignores: ['app/learning/webgpu/node.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { regex: nodeModuleRegex, message: 'layer: app/learning/gpu-host/ and webgpu/ run in the GPU host page; no Node.' },
        { group: ['electron', 'electron/*', 'svelte', 'svelte/*', '@kitware/*'], message: 'layer: app/learning/gpu-host/ is tfjs and zod only.' },
      ],
    }],
  },
};

/** gpuhost/: the GPU host page (a hidden window or a tab). tfjs, app/learning/gpu-host and webgpu only. */
const gpuHostPageLayer = {
  files: ['gpuhost/**/*.ts'],
  ignores: ['gpuhost/vite.config.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { regex: nodeModuleRegex, message: 'layer: gpuhost/ is a browser page; no Node.' },
        { group: ['electron', 'electron/*'], message: 'layer: gpuhost/ talks to main only through its preload bridge.' },
        { group: ['svelte', 'svelte/*', '@kitware/*', '**/renderer/*', '**/main/*'], message: 'layer: gpuhost/ has no UI and never imports main/ or renderer/.' },
        { regex: '(^|/)app/(?!learning/gpu-host/|learning/webgpu/(?!node))', message: 'layer: gpuhost/ imports only app/learning/gpu-host and the browser-safe app/learning/webgpu from the core.' },
      ],
    }],
  },
};

/** main/: Electron and Node hosts. Never the UI stack. */
const mainLayer = {
  files: ['main/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: ['svelte', 'svelte/*', '@kitware/*', '**/renderer/*'], message: 'layer: main/ never imports the renderer.' },
      ],
    }],
    'no-restricted-syntax': dynamicImports([
      ['^(svelte|@kitware)(\\/|$)|(^|\\/)renderer\\/', 'layer: main/ never imports the renderer.'],
    ]),
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', 'release/**', 'test-artifacts/**', 'native/**/build/**', '**/*.mjs', '**/*.cjs', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  // Svelte components: their <script lang="ts"> goes through typescript-eslint, so the layer
  // rule below sees a component's imports as it sees a .ts file's.
  {
    files: ['**/*.svelte'],
    languageOptions: { parser: svelteParser, parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  appLayer,
  contractLayer,
  sharedLayer,
  rendererLayer,
  mainLayer,
  gpuHostCoreLayer,
  gpuHostPageLayer,
);
