import { createGrayProxy } from '@graylane/next';

export const proxy = createGrayProxy({
  config: { versions: ['stable', 'beta'], default: 'stable' },
});

export const config = { matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'] };
