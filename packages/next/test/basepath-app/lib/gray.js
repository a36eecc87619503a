/** The docs' config: three versions, a sticky 50/50 split by anonymous id. */
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
