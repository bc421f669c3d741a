import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import n from 'eslint-plugin-n';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tools/**', 'bench/out/**', 'charts/**', 'manifests/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', 'test/support/*.cjs', 'bench/*.cjs', 'scripts/*.mjs'],
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 16,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { n },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      'n/no-process-exit': 'error',
      'n/prefer-node-protocol': 'error',
    },
  },
  { files: ['src/main.ts'], rules: { 'n/no-process-exit': 'off' } },
  // Time comes from the Clock (src/shared/clock.ts), so tests can drive it: no timers or
  // clock reads of the runtime's own anywhere else in src/.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/shared/clock.ts', 'src/shared/cooperative.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'use Clock.after (src/shared/clock.ts)' },
        { name: 'setInterval', message: 'use Clock.every (src/shared/clock.ts)' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'use Clock.now (src/shared/clock.ts)' },
        { object: 'performance', property: 'now', message: 'use Clock.monotonicMs (src/shared/clock.ts)' },
      ],
    },
  },
  // Every error the program throws is a coded member of one family (src/shared/errors.ts).
  {
    files: ['src/**/*.ts'],
    ignores: ['src/shared/errors.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Error'], CallExpression[callee.name='Error']",
          message: 'throw a DaemonError with a code (src/shared/errors.ts)',
        },
      ],
    },
  },
  // Command-line scripts of the repository: they print and set their exit status.
  { files: ['scripts/**/*.ts'], rules: { 'no-console': 'off', 'n/no-process-exit': 'off' } },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['scripts/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-console': 'off', 'n/no-process-exit': 'off' },
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['**/*.cjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        exports: 'writable',
        process: 'readonly',
        console: 'readonly',
        setInterval: 'readonly',
      },
    },
  },
);
