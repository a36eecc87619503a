/** One config for the proxy and the client: three versions, a sticky 50/50 split by anonymous id. */
export const grayConfig = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    {
      id: 'ramp',
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'cookie:gray_uid',
    },
  ],
};

/** This app implements stable and beta; canary falls back to stable here (lane fallback). */
export const IMPLEMENTED = new Set(['stable', 'beta']);

export function servedBy(version) {
  return IMPLEMENTED.has(version) ? version : grayConfig.default;
}
