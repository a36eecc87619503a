import { version } from '../package.json';

/** The version of `@graylane/cli`, inlined at build time. */
export const CLI_VERSION: string = version;
