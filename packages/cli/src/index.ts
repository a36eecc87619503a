/** @graylane/cli — `graylane validate | explain | sign | verify | bucket | render | diff`. */
export { runCli } from './main.js';
export type { CliIo } from './io.js';
