import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    bullmq: 'src/bullmq/index.ts',
    amqp: 'src/amqp/index.ts',
    nats: 'src/nats/index.ts',
    kafka: 'src/kafka/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: false,
  sourcemap: true,
  removeNodeProtocol: false,
  shims: true,
  target: 'node20',
  platform: 'node',
});
