import { createGrayProxy } from '@graylane/next';
import { grayConfig } from './lib/gray.js';

const gray = createGrayProxy({ config: grayConfig, sticky: true, debugHeader: true });

/** Tags the response with the runtime that ran it, so the test can prove which one did. */
export async function __EXPORT__(request, event) {
  const response = await gray(request, event);
  response.headers.set('x-proxy-runtime', typeof EdgeRuntime === 'string' ? 'edge' : 'nodejs');
  return response;
}

export const config = { matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'] };
