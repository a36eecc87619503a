/** Types for two-hop.mjs (the LD-04 topology shared with `npm run soak`). */
import type { GraylaneStats } from '@graylane/node';

export declare const VERSIONS: string[];
export declare function startTwoHop(options?: {
  versions?: string[];
  client?: 'undici' | 'fetch';
}): Promise<{
  url: string;
  close(): Promise<void>;
  stats(): { a: GraylaneStats; b: GraylaneStats };
}>;
export interface IsolationStats {
  sent: number;
  ok: number;
  mismatches: number;
  errors: number;
  non2xx: number;
  examples: string[];
  elapsedMs: number;
  rps: number;
}
export declare function runIsolation(options: {
  url: string;
  total?: number;
  connections?: number;
  versions?: string[];
  until?: () => boolean;
  onProgress?: (stats: Omit<IsolationStats, 'elapsedMs' | 'rps'>) => void;
}): Promise<IsolationStats>;
