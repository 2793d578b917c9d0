import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['embed-sdk/test/**/*.test.js', 'widgets/**/*.test.js', 'server/admin/assets/**/*.test.js'],
    environment: 'node',
  },
});
