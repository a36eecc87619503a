import { join } from 'node:path';
import { DENO, binaryMissing } from './support/binaries.js';
import { bundleApp } from './support/bundle.js';
import { startProcess } from './support/process.js';
import { describeRuntime } from './support/suite.js';

describeRuntime(
  'Deno (AsyncLocalStorage from node:async_hooks)',
  () => binaryMissing(DENO, 'npm install --no-save --prefix /opt/deno deno@2'),
  async (setup) => {
    const { dir } = await bundleApp('esm');
    const served = await startProcess(
      DENO,
      () => ['run', '--allow-net=127.0.0.1', '--allow-env', '--no-prompt', join(dir, 'host.mjs')],
      {
        cwd: dir,
        env: {
          GRAY_SETUP: JSON.stringify(setup),
          DENO_NO_UPDATE_CHECK: '1',
          DENO_DIR: join(dir, '.deno'),
        },
        portEnv: 'GRAY_PORT',
      },
    );
    return { ...served, als: true };
  },
);
