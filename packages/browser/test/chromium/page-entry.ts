// Bundled by esbuild for the Chromium tests: exposes the SDK (from source) and axios to the page.
import axios from 'axios';
import { attachGray } from '../../src/axios.js';
import {
  excludePaths,
  initGray,
  installFetch,
  installXHR,
  split,
  withGray,
} from '../../src/index.js';
import { createRemoteRules } from '../../src/remote.js';

const api = {
  initGray,
  installFetch,
  installXHR,
  split,
  withGray,
  attachGray,
  axios,
  createRemoteRules,
  excludePaths,
};

/** What the test page exposes as `globalThis.graylane`. */
export type PageApi = typeof api;

declare global {
  var graylane: PageApi;
}

globalThis.graylane = api;
