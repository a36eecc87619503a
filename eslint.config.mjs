// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const noEnterWith = {
  selector: "CallExpression[callee.property.name='enterWith']",
  message: 'graylane binds context with AsyncLocalStorage#run only (RELIABILITY CTX-09).',
};

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.turbo/**',
      'coverage/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': ['error', noEnterWith],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@graylane/*/src/*', '@graylane/*/dist/*'],
              message: 'Import packages by their public entry points.',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      'packages/core/src/**/*.ts',
      'packages/browser/src/**/*.ts',
      'packages/web/src/**/*.ts',
      'packages/next/src/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*'],
              message: 'core, browser, web and next are platform-neutral: no node: imports.',
            },
            {
              group: ['@graylane/*/src/*', '@graylane/*/dist/*'],
              message: 'Import packages by their public entry points.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
