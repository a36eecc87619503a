/**
 * Bad input gets a clear error, never a crash (review 107 D3): the public entry points a user
 * calls first, called from plain JavaScript with what is not an options object — nothing,
 * `null`, a number, a string, an array, a symbol — throw a `GraylaneError` `INVALID_OPTIONS`
 * naming the call, not a `TypeError` from deep inside ("Cannot read properties of undefined").
 */
import { describe, expect, it } from 'vitest';
import {
  bucketHeaderValue,
  createBackoff,
  createConfigStore,
  decide,
  explain,
  isGraylaneError,
  parseConfig,
} from '@graylane/core';
import * as browser from '@graylane/browser';
import { attachGray as attachGrayInPage } from '@graylane/browser/axios';
import { createRemoteRules } from '@graylane/browser/remote';
import { runCli } from '@graylane/cli';
import * as etcd from '@graylane/etcd';
import * as next from '@graylane/next';
import * as node from '@graylane/node';
import { createAssetLanes } from '@graylane/node/assets';
import * as sources from '@graylane/node/sources';
import * as nodeStatus from '@graylane/node/status';
import { toFlagMetadata } from '@graylane/openfeature';
import * as ofServer from '@graylane/openfeature/server';
import * as ofWeb from '@graylane/openfeature/web';
import { getGrayAttributes } from '@graylane/otel';
import { createMessageLanes } from '@graylane/queue';
import * as amqp from '@graylane/queue/amqp';
import * as bull from '@graylane/queue/bullmq';
import * as kafka from '@graylane/queue/kafka';
import * as nats from '@graylane/queue/nats';
import * as web from '@graylane/web';

const BAD: readonly [string, unknown][] = [
  ['nothing', undefined],
  ['null', null],
  ['a number', 5],
  ['a string', 'beta'],
  ['an array', []],
  ['a symbol', Symbol('x')],
];

type Call = (arg: unknown) => unknown;
const CALLS: readonly [string, Call, RegExp][] = [
  ['@graylane/browser initGray', (a) => browser.initGray(a as never), /initGray/],
  ['@graylane/browser split', (a) => browser.split(a as never), /split/],
  ['@graylane/browser excludePaths', (a) => browser.excludePaths(a as never), /excludePaths/],
  [
    '@graylane/next createGrayProxy',
    (a) => next.createGrayProxy(a as never),
    /createGrayProxy|createGraylane/,
  ],
  ['@graylane/web createGraylane', (a) => web.createGraylane(a as never), /createGraylane/],
  ['@graylane/node createGraylane', (a) => node.createGraylane(a as never), /createGraylane/],
  ['@graylane/node grayBranch', (a) => node.grayBranch(a as never), /grayBranch/],
];

describe('a public entry point given what is not its options throws INVALID_OPTIONS', () => {
  it.each(
    CALLS.flatMap(([name, call, says]) =>
      BAD.map(([what, arg]) => [name, what, call, says, arg] as const),
    ),
  )('%s(%s)', (_name, _what, call, says, arg) => {
    let thrown: unknown;
    try {
      call(arg);
    } catch (e) {
      thrown = e;
    }
    // An empty array is an empty list of weights, paths or branches where one is taken: it may
    // pass. Anything else throws, and never a TypeError.
    if (Array.isArray(arg) && thrown === undefined) return;
    expect(isGraylaneError(thrown) && thrown.code, String(thrown)).toBe('INVALID_OPTIONS');
    expect(String((thrown as Error).message)).toMatch(says);
  });

  it.each(BAD.filter(([, a]) => typeof a !== 'string'))(
    '@graylane/web createLane(%s)',
    (_what, arg) => {
      expect(() => web.createLane(arg as never)).toThrow(/createLane/);
    },
  );
});

/**
 * Every other public function of every package (review 107 D3, helper 113), found by a probe that
 * imports each `exports` subpath from dist and calls each function with the values above: what
 * takes options, a callback, a lanes object, a client or a record throws `INVALID_OPTIONS` naming
 * the call — sync or as a rejection — never a `TypeError` from inside. `{}` is an object missing
 * the required field. `accepts` lists the values that are a documented "none" (an optional
 * argument), tested below as fallbacks instead.
 */
const JUNK: readonly [string, unknown][] = [...BAD, ['an object without its fields', {}]];
const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
const nodeGray = node.createGraylane({
  config: { versions: ['stable', 'beta'], default: 'stable' },
});
const grayClient = {
  getGrayVersion: () => 'beta',
  getGrayReason: () => 'rules',
  subscribe: () => () => {},
};
const fn = (): number => 1;
const inLane = <T>(f: () => T): T => node.runWithGray('beta', f);

type Row = readonly [
  name: string,
  call: (arg: unknown) => unknown,
  says: RegExp,
  accepts?: readonly string[],
  controls?: readonly string[],
];
const a = (x: unknown): never => x as never;
const NONE = ['nothing', 'null'];
// Where the call already threw INVALID_OPTIONS for these (only nothing and null crashed): controls.
const SOME = ['a number', 'a string', 'an array', 'a symbol', 'an object without its fields'];
// Options that can never work stop the source at start with the reason (FLT-04), not a throw.
const FAILS_AT_START = ['an array', 'an object without its fields'];
const ENTRIES: readonly Row[] = [
  // Helper 117: the core engine's entry points. `decide` / `explain` check only after their
  // evaluation threw (nothing on the valid path); before, junk gave `{ version: undefined }`.
  ['@graylane/core decide', (x) => decide(a(x), {}), /decide: config/],
  ['@graylane/core explain', (x) => explain(a(x), {}), /explain: config/],
  ['@graylane/core createConfigStore', (x) => createConfigStore(a(x)), /createConfigStore/],
  [
    '@graylane/node createGraylane(…).decideRequest',
    (x) => nodeGray.decideRequest(a(x)),
    /decideRequest/,
    ['an array', 'an object without its fields'],
  ],
  ['@graylane/browser rulesFromConfig', (x) => browser.rulesFromConfig(a(x)), /rulesFromConfig/],
  ['@graylane/browser/axios attachGray', (x) => attachGrayInPage(a(x)), /attachGray/],
  [
    '@graylane/browser/remote createRemoteRules',
    (x) => createRemoteRules(a(x)),
    /createRemoteRules/,
  ],
  [
    '@graylane/web createStatusHandler',
    (x) => web.createStatusHandler(a(x)),
    /createStatusHandler/,
  ],
  ['@graylane/web createKvRules', (x) => web.createKvRules(a(x)), /createKvRules/],
  ['@graylane/web createHttpRules', (x) => web.createHttpRules(a(x)), /createHttpRules/],
  [
    '@graylane/web signMarker(beta, …)',
    (x) => web.signMarker('beta', a(x)),
    /signMarker|key id/,
    [],
    SOME,
  ],
  ['@graylane/web runWithGray(beta, …)', (x) => web.runWithGray('beta', a(x)), /runWithGray/],
  [
    '@graylane/node/status createStatusHandler',
    (x) => nodeStatus.createStatusHandler(a(x)),
    /createStatusHandler/,
  ],
  ['@graylane/node/sources startSources', (x) => sources.startSources(a(x), []), /startSources/],
  [
    '@graylane/node/sources startSources(store, …)',
    (x) => sources.startSources(nodeGray.store, a(x)),
    /startSources/,
    ['an array'],
  ],
  [
    '@graylane/node/sources createHttpSource',
    (x) => sources.createHttpSource(a(x)),
    /createHttpSource|url/,
    FAILS_AT_START,
  ],
  [
    '@graylane/node/sources createFileSource',
    (x) => sources.createFileSource(a(x)),
    /createFileSource/,
  ],
  ['@graylane/node/sources createBackup', (x) => sources.createBackup(a(x)), /createBackup/],
  [
    '@graylane/node/sources createSourceMetrics',
    (x) => sources.createSourceMetrics(a(x)),
    /createSourceMetrics/,
    NONE,
  ],
  [
    '@graylane/node/assets createAssetLanes',
    (x) => createAssetLanes(a(x)),
    /createAssetLanes/,
    [],
    SOME,
  ],
  ['@graylane/node bindGray', (x) => node.bindGray(a(x)), /bindGray/],
  ['@graylane/node attachGray', (x) => node.attachGray(a(x)), /attachGray/],
  [
    '@graylane/node signMarker(beta, …)',
    (x) => node.signMarker('beta', a(x)),
    /signMarker|key id/,
    [],
    SOME,
  ],
  ['@graylane/node runWithGray(beta, …)', (x) => node.runWithGray('beta', a(x)), /runWithGray/],
  ['@graylane/next createGrayFetch', (x) => next.createGrayFetch(a(x)), /createGrayFetch/],
  [
    '@graylane/etcd createEtcdSource',
    (x) => etcd.createEtcdSource(a(x)),
    /createEtcdSource/,
    FAILS_AT_START,
  ],
  [
    '@graylane/etcd createEtcdClient',
    (x) => etcd.createEtcdClient(a(x)),
    /createEtcdClient|etcd client/,
    [],
    SOME,
  ],
  [
    '@graylane/etcd createEtcdDocumentClient',
    (x) => etcd.createEtcdDocumentClient(a(x)),
    /createEtcdDocumentClient/,
  ],
  [
    '@graylane/queue createMessageLanes',
    (x) => createMessageLanes(a(x)),
    /createMessageLanes|keys must|invalid config/,
    [],
    SOME,
  ],
  ['@graylane/queue/amqp createAmqpLanes', (x) => amqp.createAmqpLanes(a(x)), /createAmqpLanes/],
  [
    '@graylane/queue/amqp grayPublishOptions',
    (x) => amqp.grayPublishOptions(a(x)),
    /grayPublishOptions/,
  ],
  [
    '@graylane/queue/amqp withGrayMessage',
    (x) => amqp.withGrayMessage(a(x), fn),
    /withGrayMessage/,
  ],
  [
    '@graylane/queue/amqp withGrayMessage(lanes, …)',
    (x) => amqp.withGrayMessage(lanes, a(x)),
    /withGrayMessage/,
  ],
  ['@graylane/queue/bullmq createBullLanes', (x) => bull.createBullLanes(a(x)), /createBullLanes/],
  ['@graylane/queue/bullmq grayJobData', (x) => bull.grayJobData(a(x), {}), /grayJobData/],
  [
    '@graylane/queue/bullmq withGrayJob(lanes, …)',
    (x) => bull.withGrayJob(lanes, a(x)),
    /withGrayJob/,
  ],
  ['@graylane/queue/nats createNatsLanes', (x) => nats.createNatsLanes(a(x)), /createNatsLanes/],
  ['@graylane/queue/nats grayNatsHeaders', (x) => nats.grayNatsHeaders(a(x)), /grayNatsHeaders/],
  [
    '@graylane/queue/nats grayNatsHeaders(lanes, …) in a lane',
    (x) => inLane(() => nats.grayNatsHeaders(lanes, a(x))),
    /grayNatsHeaders/,
    NONE,
  ],
  [
    '@graylane/queue/nats withGrayNatsMessage(lanes, …)',
    (x) => nats.withGrayNatsMessage(lanes, a(x)),
    /withGrayNatsMessage/,
  ],
  [
    '@graylane/queue/kafka grayKafkaMessage',
    (x) => kafka.grayKafkaMessage(a(x), {}),
    /grayKafkaMessage/,
  ],
  [
    '@graylane/queue/kafka grayKafkaMessage(lanes, …) in a lane',
    (x) => inLane(() => kafka.grayKafkaMessage(lanes, a(x))),
    /grayKafkaMessage/,
    ['an array', 'an object without its fields'],
  ],
  [
    '@graylane/queue/kafka grayKafkaMessages',
    (x) => kafka.grayKafkaMessages(a(x), []),
    /grayKafkaMessages/,
  ],
  [
    '@graylane/queue/kafka grayKafkaMessages(lanes, …) in a lane',
    (x) => inLane(() => kafka.grayKafkaMessages(lanes, a(x))),
    /grayKafkaMessages/,
    ['an array'],
  ],
  [
    '@graylane/queue/kafka runInKafkaMessage',
    (x) => kafka.runInKafkaMessage(a(x), {}, fn),
    /runInKafkaMessage/,
  ],
  [
    '@graylane/queue/kafka runInKafkaMessage(lanes, {}, …)',
    (x) => kafka.runInKafkaMessage(lanes, {}, a(x)),
    /runInKafkaMessage/,
  ],
  [
    '@graylane/queue/kafka withGrayKafkaMessage(lanes, …)',
    (x) => kafka.withGrayKafkaMessage(lanes, a(x)),
    /withGrayKafkaMessage/,
  ],
  [
    '@graylane/openfeature toFlagMetadata',
    (x) => toFlagMetadata(a(x)),
    /toFlagMetadata/,
    ['an array', 'an object without its fields'],
  ],
  [
    '@graylane/openfeature/web createGrayWebProvider',
    (x) => ofWeb.createGrayWebProvider(a(x)),
    /createGrayWebProvider/,
    [],
    SOME,
  ],
  [
    '@graylane/openfeature/web syncGrayContext',
    (x) => ofWeb.syncGrayContext(a(x)),
    /syncGrayContext/,
  ],
  [
    '@graylane/otel getGrayAttributes',
    (x) => getGrayAttributes(a(x)),
    /getGrayAttributes/,
    ['an array', 'an object without its fields'],
  ],
  ['@graylane/cli runCli', (x) => runCli(a(x)), /runCli/, ['an array']],
  [
    '@graylane/cli runCli([--version], …)',
    (x) => runCli(['--version'], a(x)),
    /runCli/,
    ['nothing'],
  ],
];

async function thrownBy(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('every public function given what is not its argument throws INVALID_OPTIONS naming it', () => {
  it.each(
    ENTRIES.flatMap(([name, call, says, accepts = [], controls = []]) =>
      JUNK.filter(([what]) => !accepts.includes(what)).map(
        ([what, arg]) =>
          [name, controls.includes(what) ? `${what}, control` : what, call, says, arg] as const,
      ),
    ),
  )('%s(%s)', async (_name, _what, call, says, arg) => {
    const thrown = await thrownBy(() => call(arg));
    // INVALID_CONFIG where a config is what is missing (createMessageLanes({})).
    expect(isGraylaneError(thrown) && thrown.code, String(thrown)).toMatch(
      /^INVALID_(OPTIONS|CONFIG)$/,
    );
    expect(String((thrown as Error).message)).toMatch(says);
  });

  it.each(['stable', 5, {}, Symbol('x')])(
    '@graylane/web provideAsyncLocalStorage(%s) throws and leaves the storage usable',
    (arg) => {
      const thrown = (() => {
        try {
          web.provideAsyncLocalStorage(a(arg));
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(isGraylaneError(thrown) && thrown.code, String(thrown)).toBe('INVALID_OPTIONS');
      // A junk storage kept for the process broke every lane after it ('als.run is not a function').
      expect(web.runWithGray('beta', () => 'ran')).toBe('ran');
    },
  );
});

/**
 * Where `null` or a value that is not the thing means "none" (an optional argument, a record from
 * a broker), the documented fallback holds: nothing throws and the call does its work.
 */
describe('documented fallbacks for an optional argument that is null or not the thing', () => {
  const FALLBACKS: readonly [string, () => unknown][] = [
    [
      '@graylane/web createLane(beta, null) is a lane',
      () => expect(web.createLane('beta', a(null)).decision.version).toBe('beta'),
    ],
    [
      '@graylane/web withGray(fetch, null) is a fetch',
      () => expect(typeof web.withGray(fetch, a(null))).toBe('function'),
    ],
    [
      '@graylane/node runWithGray(beta, fn, null) runs in beta',
      () => expect(node.runWithGray('beta', () => node.tryGetGrayVersion(), a(null))).toBe('beta'),
    ],
    [
      '@graylane/node/sources startSources(store, [], null) starts',
      () => sources.startSources(nodeGray.store, [], a(null)).stop(),
    ],
    [
      '@graylane/queue/nats grayNatsHeaders(lanes, null) in a lane carries the marker',
      () =>
        expect(
          inLane(() => nats.grayNatsHeaders(lanes, null as never as undefined)).values('x-gray-id'),
        ).toEqual(['beta']),
    ],
    [
      '@graylane/queue lanes.inject(null) in a lane carries the marker',
      () => expect(inLane(() => lanes.inject(a(null)))).toMatchObject({ 'x-gray-id': 'beta' }),
    ],
    [
      '@graylane/queue/amqp withGrayMessage(lanes, fn, null) wraps',
      () => expect(amqp.withGrayMessage(lanes, fn, a(null))(a({ properties: {} }))).toBe(1),
    ],
    [
      '@graylane/queue/amqp withGrayMessage(…)(undefined) passes through',
      () => expect(amqp.withGrayMessage(lanes, (m) => m)(a(undefined))).toBeUndefined(),
    ],
    [
      '@graylane/queue/bullmq withGrayJob(lanes, fn, null) wraps',
      () => expect(bull.withGrayJob(lanes, fn, a(null))(a({ data: {} }))).toBe(1),
    ],
    [
      '@graylane/queue/nats withGrayNatsMessage(lanes, fn, null) wraps',
      () => expect(nats.withGrayNatsMessage(lanes, fn, a(null))(a({}))).toBe(1),
    ],
    [
      '@graylane/queue/kafka withGrayKafkaMessage(lanes, fn, null) wraps',
      () => expect(kafka.withGrayKafkaMessage(lanes, fn, a(null))(a({ message: {} }))).toBe(1),
    ],
    [
      '@graylane/openfeature/server createGrayContextHook(null) is a hook',
      () => expect(typeof ofServer.createGrayContextHook(a(null)).before).toBe('function'),
    ],
    [
      '@graylane/openfeature/server createGrayServerProvider(null) is a provider',
      () => expect(ofServer.createGrayServerProvider(a(null)).runsOn).toBe('server'),
    ],
    [
      '@graylane/openfeature/web syncGrayContext(client, null) syncs',
      () => expect(typeof ofWeb.syncGrayContext(grayClient, a(null))).toBe('function'),
    ],
  ];
  it.each(FALLBACKS)('%s', async (_name, check) => {
    await check();
  });

  // applyOutcome never throws (I1): writes that are not an outcome change nothing.
  it.each(JUNK)('@graylane/web applyOutcome(response, %s) returns the response', (_what, arg) => {
    const response = new Response('ok');
    expect(web.applyOutcome(response, a(arg))).toBe(response);
  });

  // A consumed record that is not an object runs as one without headers (the default lane).
  it.each(
    JUNK.filter(([, x]) => typeof x !== 'object' || x === null).map(
      ([what, x]) => [x == null ? what : `${what}, control`, x] as const,
    ),
  )('@graylane/queue/kafka runInKafkaMessage(lanes, %s, fn) runs fn', (_what, arg) => {
    expect(kafka.runInKafkaMessage(lanes, a(arg), () => node.tryGetGrayVersion())).toBe('stable');
  });
});

/**
 * Helper 117 (review 107 D3): what is a config, just not a parsed one — the mistakes a caller
 * makes. Before, `decide` / `explain` served the default for them as if no rule matched (a rule
 * document's rules have no compiled conditions: the evaluation threw and was caught) and
 * `rulesFromConfig` took them, its rules then never matching.
 */
describe('a config that parseConfig did not make throws INVALID_OPTIONS naming the call', () => {
  const document = {
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id: 'all', version: 'beta' }],
  };
  const store = createConfigStore({ initial: document });
  const NOT_PARSED: readonly [string, unknown][] = [
    ['a config document', document],
    ['its JSON text', JSON.stringify(document)],
    ['the store', store],
    ['a store snapshot', store.get()],
  ];
  const USES: readonly [string, Call, RegExp][] = [
    ['@graylane/core decide', (x) => decide(a(x), { path: '/' }), /decide: config/],
    ['@graylane/core explain', (x) => explain(a(x), { path: '/' }), /explain: config/],
    ['@graylane/browser rulesFromConfig', (x) => browser.rulesFromConfig(a(x)), /rulesFromConfig/],
  ];
  it.each(
    USES.flatMap(([name, call, says]) =>
      NOT_PARSED.map(([what, x]) => [name, what, call, says, x] as const),
    ),
  )('%s(%s)', (_name, _what, call, says, x) => {
    let thrown: unknown;
    try {
      call(x);
    } catch (e) {
      thrown = e;
    }
    expect(isGraylaneError(thrown) && thrown.code, String(thrown)).toBe('INVALID_OPTIONS');
    expect(String((thrown as Error).message)).toMatch(says);
  });

  it('control: the parsed config of that document decides beta', () => {
    expect(decide(store.get().config, {}).version).toBe('beta');
    expect(decide(parseConfig(document), {}).version).toBe('beta');
  });
});

/**
 * Helper 117: the documented fallbacks of the core engine and the Node entry points. A request
 * that is not there reads as `{}` (every field absent) and `null` options are none, so the call
 * decides as it would without them — before, `decide(config, null)` and
 * `decide(config, request, null)` threw inside and served the default whatever the rules said.
 * Rows marked `control` held before.
 */
describe('documented fallbacks of the core engine (helper 117)', () => {
  const config = parseConfig({
    versions: ['stable', 'beta', 'canary'],
    default: 'stable',
    rules: [
      { id: 'qa', match: { header: { 'x-group': { equals: 'qa' } } }, version: 'canary' },
      { id: 'all', version: 'beta' },
    ],
  });
  const qa = { headers: { 'x-group': 'qa' } };
  const weighted = { version: 'beta', reason: 'weight', source: 'rules', bucket: 1234 } as const;
  // [what, value, whether the old source crashed or served the default for it]
  const cases = (crashed: (x: unknown) => boolean) =>
    JUNK.map(([what, x]) => [crashed(x) ? what : `${what}, control`, x] as const);
  const nullish = (x: unknown): boolean => x == null;
  const isNull = (x: unknown): boolean => x === null;

  it.each(cases(nullish))('decide(config, %s) decides as decide(config, {})', (_what, x) => {
    expect(decide(config, a(x))).toEqual(decide(config, {}));
    expect(decide(config, a(x)).version).toBe('beta');
  });

  it.each(cases(nullish))('explain(config, %s) explains as explain(config, {})', (_what, x) => {
    const { decision, rules } = explain(config, a(x));
    expect(decision.version).toBe('beta');
    expect(rules.map((r) => [r.ruleId, r.outcome])).toEqual([
      ['qa', 'no_match'],
      ['all', 'matched'],
    ]);
  });

  it.each(cases(isNull))('decide(config, qa request, %s) matches the qa rule', (_what, x) => {
    expect(decide(config, qa, a(x))).toMatchObject({ version: 'canary', ruleId: 'qa' });
  });

  it.each(cases(isNull))('explain(config, qa request, %s) matches the qa rule', (_what, x) => {
    expect(explain(config, qa, a(x)).decision).toMatchObject({ version: 'canary', ruleId: 'qa' });
  });

  it.each(cases(nullish))('bucketHeaderValue(%s) is no header', (_what, x) => {
    expect(bucketHeaderValue(a(x))).toBeUndefined();
  });

  it('control: bucketHeaderValue of a weighted decision, either form', () => {
    expect(bucketHeaderValue(weighted)).toBe('1234');
    expect(bucketHeaderValue(weighted, 'percent')).toBe('12');
  });

  it.each(cases(isNull))('createBackoff(%s) is the default schedule', (_what, x) => {
    const backoff = createBackoff(a(x));
    // 1 s ± 20 %, then 2 s ± 20 %.
    expect(backoff.next()).toBeGreaterThanOrEqual(800);
    expect(backoff.next()).toBeGreaterThanOrEqual(1600);
    expect(backoff.attempts).toBe(2);
  });

  it.each(cases(isNull))('store.update(document, %s) applies it', (_what, x) => {
    const store = createConfigStore({ initial: config });
    const next = { versions: ['stable', 'beta'], default: 'beta' };
    expect(store.update(next, a(x)).status).toBe('changed');
    expect(store.get().config.default).toBe('beta');
  });

  it('control: createConfigStore({ initial: undefined }) is still an invalid config', () => {
    // What createGraylane({}) and createMessageLanes({}) report: the missing config.
    let thrown: unknown;
    try {
      createConfigStore({ initial: undefined });
    } catch (e) {
      thrown = e;
    }
    expect(isGraylaneError(thrown) && thrown.code).toBe('INVALID_CONFIG');
  });

  it.each(cases(isNull))('@graylane/node grayBranch(branches, %s) in a lane', (_what, x) => {
    const branches = { beta: () => 'b', default: () => 'd' };
    expect(inLane(() => node.grayBranch(branches, a(x)))).toBe('b');
    expect(node.runWithGray('canary', () => node.grayBranch(branches, a(x)))).toBe('d');
  });

  it.each([
    ['an array', []],
    ['an object without its fields', {}],
  ])(
    'control: @graylane/node decideRequest(%s) decides as a request without markers',
    (_what, x) => {
      expect(nodeGray.decideRequest(a(x))).toMatchObject({ version: 'stable', reason: 'default' });
    },
  );
});
