import { bullDriver } from './brokers/bullmq-driver.js';
import { laneSuite } from './lane-suite.js';

// The shared lane scenarios (MQ-01 … MQ-19) again, with a BullMQ key prefix of the app's own
// (`prefix: 'myapp'`, on the router and every queue the test opens) and one job at a time per
// worker: lane keys, liveness keys and the drain must follow the prefix, and a worker that works
// one job at a time must still drain a lane. A redis-server of its own, beside bullmq.test.ts.
laneSuite(() => bullDriver('myapp', 1));
