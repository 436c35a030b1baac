/** Load runs (npm run test:load): tests/load/*.load.ts, kept out of `npm test` (minutes, not seconds). */
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  roots: ['<rootDir>/tests/load'],
  testMatch: ['**/*.load.ts'],
  testTimeout: 30 * 60 * 1000,
};
