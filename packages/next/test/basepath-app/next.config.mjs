/** The graylane basePath test app (review 65 D1): no network at build or run time, no telemetry. */
export default {
  basePath: '/shop',
  poweredByHeader: false,
  // The test keeps its own build cache (keyed by a source hash); skip Turbopack's disk cache.
  experimental: { turbopackFileSystemCacheForBuild: false },
};
