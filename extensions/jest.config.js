// Unit tests of the pure functions (formatting, reducers, helpers, error mapping).
// Times are formatted in UTC so the expectations do not depend on the machine.
process.env.TZ = 'UTC';

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
