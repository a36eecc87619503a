/** The graylane + React test app: no network at build or run time, no telemetry. */
export default {
  reactStrictMode: true,
  poweredByHeader: false,
  // The test keeps its own build cache (keyed by a source hash); skip Turbopack's disk cache.
  experimental: { turbopackFileSystemCacheForBuild: false },
};
