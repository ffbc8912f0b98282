/**
 * Playwright configuration for the jupyter-dataops UI tests.
 *
 * Uses the system Chromium (Debian's `chromium` package, or CHROMIUM_PATH):
 * no browser is downloaded.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

module.exports = {
  ...baseConfig,
  timeout: 120000,
  expect: { timeout: 30000 },
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL: 'http://127.0.0.1:8888',
    video: 'off',
    trace: 'retain-on-failure',
    viewport: { width: 1400, height: 850 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  },
  webServer: {
    command: 'jlpm start',
    url: 'http://127.0.0.1:8888/lab',
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI,
    // Let the server stop cleanly: it then removes its job store, and the
    // job worker, seeing that, exits too.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 10000 }
  }
};
