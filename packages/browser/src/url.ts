/**
 * @internal Resolves a request URL the way the browser will: against the document base URL.
 * Undefined when it cannot be parsed (BR-11: fail closed, never throw).
 */
export function resolveUrl(url: string): string | undefined {
  try {
    return new URL(url, document.baseURI).href;
  } catch {
    return undefined;
  }
}

/** @internal The origin of `url` when it differs from the page's (a CORS request), else undefined. */
export function foreignOrigin(url: string): string | undefined {
  try {
    const { origin } = new URL(url, document.baseURI);
    return origin === location.origin ? undefined : origin;
  } catch {
    return undefined;
  }
}
