/** Types of scripts/build.mjs for the TypeScript tests. */

/** The versions that get a front-end build. */
export declare const LANES: readonly ['stable', 'beta'];

/** Options of {@link buildExample}. */
export interface BuildExampleOptions {
  /** Default: the example's `dist/`. */
  readonly outDir?: string;
  /** Default `production`; `development` keeps React's full warnings. */
  readonly mode?: 'production' | 'development';
  /** Build the Node entry `server.js` too. Default `true`. */
  readonly server?: boolean;
}

/** Builds the per-version front ends (and the server) into `outDir`. */
export declare function buildExample(options?: BuildExampleOptions): Promise<void>;
