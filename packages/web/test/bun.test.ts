import { join } from 'node:path';
import { BUN, binaryMissing } from './support/binaries.js';
import { bundleApp } from './support/bundle.js';
import { startProcess } from './support/process.js';
import { describeRuntime } from './support/suite.js';

describeRuntime(
  'Bun (AsyncLocalStorage from node:async_hooks)',
  () => binaryMissing(BUN, 'npm install --no-save --prefix /opt/bun bun@1'),
  async (setup) => {
    const { dir } = await bundleApp('esm');
    const served = await startProcess(BUN, () => ['run', join(dir, 'host.mjs')], {
      cwd: dir,
      env: { GRAY_SETUP: JSON.stringify(setup) },
      portEnv: 'GRAY_PORT',
    });
    return { ...served, als: true };
  },
);
