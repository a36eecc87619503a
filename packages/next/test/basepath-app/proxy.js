// The proxy of docs/nextjs.md §2, matcher included (next-basepath.test.ts checks it is the same).
import { createGrayProxy } from '@graylane/next';
import { grayConfig } from './lib/gray.js';

export const proxy = createGrayProxy({ config: grayConfig, sticky: true });

export const config = { matcher: ['/', '/((?!_next/static|_next/image|favicon.ico).*)'] };
