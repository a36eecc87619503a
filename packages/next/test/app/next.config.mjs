/** The graylane Next.js test app: no network at build or run time, no telemetry. */
export default {
  reactStrictMode: true,
  poweredByHeader: false,
  images: { unoptimized: true },
  // The test keeps its own build cache (keyed by a source hash); skip Turbopack's disk cache.
  experimental: { turbopackFileSystemCacheForBuild: false },
  // STK-06: targeted cache-control fields (RFC 9213) set by the app's config, not a handler.
  headers: async () => [
    {
      source: '/cache/targeted',
      headers: [
        { key: 'CDN-Cache-Control', value: 'max-age=3600' },
        { key: 'cloudflare-cdn-cache-control', value: 'public, s-maxage=600' },
        { key: 'Vercel-CDN-Cache-Control', value: 's-maxage=60' },
        { key: 'Netlify-CDN-Cache-Control', value: 'public, durable, s-maxage=60' },
        { key: 'Surrogate-Control', value: 'max-age=86400' },
        { key: 'EDGE-CONTROL', value: '!no-store, max-age=3600' },
      ],
    },
  ],
};
