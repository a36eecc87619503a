/**
 * @internal Resolves a request URL the way the browser will: against the document base URL.
 * Undefined when it cannot be parsed (BR-11: fail closed, never throw).
 */
export function resolveUrl(url: string): URL | undefined {
  try {
    return new URL(url, document.baseURI);
  } catch {
    return undefined;
  }
}
