// Core NATS idioms (MQ-25): `withGrayNatsMessage` as a `subscribe(…, { callback })` callback, which
// the clients call `(err, msg)`, on v3 and v2, and in an iterator loop. This file only has to
// compile (`npm run typecheck -w @graylane/queue`).
import { connect, type Msg } from '@nats-io/transport-node';
import { getGrayVersion } from '@graylane/node';
import * as natsV2 from 'nats';
import { createMessageLanes } from '../../src/index.js';
import { withGrayNatsMessage } from '../../src/nats/index.js';

export async function natsCore(): Promise<void> {
  const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });

  // v3: request/reply responders in a queue group, the callback form (params inferred).
  const nc = await connect({ servers: '127.0.0.1:4222' });
  nc.subscribe('svc.echo', {
    queue: 'workers',
    callback: withGrayNatsMessage(lanes, (err, m) => {
      if (err) return;
      m.respond(getGrayVersion());
    }),
  });
  // Annotated, as a named handler.
  const onEcho = (err: Error | null, m: Msg): void => {
    if (!err) m.respond(m.string());
  };
  nc.subscribe('svc.echo', { queue: 'workers', callback: withGrayNatsMessage(lanes, onEcho) });
  // The iterator form: one argument.
  const handle = withGrayNatsMessage(lanes, (m: Msg) => m.respond(getGrayVersion()));
  for await (const m of nc.subscribe('svc.echo', { queue: 'workers' })) handle(m);

  // v2 (`nats`): the same callback shape.
  const nc2 = await natsV2.connect({ servers: '127.0.0.1:4222' });
  const sc = natsV2.StringCodec();
  nc2.subscribe('svc.echo', {
    queue: 'workers',
    callback: withGrayNatsMessage(lanes, (err, m) => {
      if (err === null) m.respond(sc.encode(getGrayVersion()));
    }),
  });
}
