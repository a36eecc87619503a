// Carriers as the broker clients encode them (docs/queues.md §1, §8): a marker anywhere in a
// header table is judged and, when refused, removed (GW-01); routers route on what the client
// will encode or refuse it (MQ-23); wrong client objects are refused when a router is built
// (MQ-24). One RabbitMQ node, nats-server and redis-server for the file, on 127.0.0.1.
import { afterAll, beforeAll } from 'vitest';
import { anywhereTests } from './encoded/anywhere.js';
import { brokers, stopBrokers } from './encoded/brokers.js';
import { clientTests } from './encoded/clients.js';
import { refusedTests } from './encoded/refused.js';
import { routedTests } from './encoded/routed.js';
import { closeAfterAll } from './encoded/shared.js';

// After hooks run as a stack: registered first, the brokers stop after every client is closed.
afterAll(stopBrokers, 60_000);
closeAfterAll();
beforeAll(async () => void (await brokers()), 120_000);

anywhereTests();
routedTests();
refusedTests();
clientTests();
