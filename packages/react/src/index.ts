/**
 * @graylane/react — one graylane client per page, the server's decision for SSR and hydration,
 * and hooks that follow the version. React is a peer dependency; nothing happens on import.
 */
export { GrayProvider } from './provider.js';
export type { GrayProviderProps } from './provider.js';

export { useGrayClient, useGrayVersion } from './hooks.js';

export { GrayBranch, useGrayBranch } from './branch.js';
export type { GrayBranchMap, GrayBranchProps, UseGrayBranchOptions } from './branch.js';
