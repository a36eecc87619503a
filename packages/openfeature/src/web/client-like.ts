/**
 * The part of `@graylane/browser`'s `GrayClient` the web provider and `syncGrayContext` use.
 * Structural, so `@graylane/browser` stays a type-only (optional) peer.
 */
export interface GrayClientLike {
  getGrayVersion(): string;
  getGrayReason(): string;
  subscribe(listener: (version: string) => void): () => void;
}
