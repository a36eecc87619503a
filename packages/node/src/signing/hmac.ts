import { createHmac } from 'node:crypto';
import type { HmacSha256 } from '@graylane/core';

/** Node's synchronous HMAC-SHA256, the primitive core's signed-marker code is given. */
export const nodeHmac: HmacSha256 = (key, data) => createHmac('sha256', key).update(data).digest();
