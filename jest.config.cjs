/** Jest runs the TypeScript sources through esbuild (type checking is `npm run typecheck`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(ts|m?js)$': '<rootDir>/tests/support/esbuild-transform.cjs' },
  // jose, oauth2-mock-server (and its basic-auth) ship ES modules only; Jest's module system needs them as CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(jose|oauth2-mock-server|basic-auth)/)'],
  moduleFileExtensions: ['ts', 'js', 'cjs', 'mjs', 'json'],
  // functions/ uses NodeNext-style relative imports ('./x.js' for ./x.ts).
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
};
