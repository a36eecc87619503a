import { describeNextApp } from './support/suite.js';

// middleware.js (deprecated in Next 16, still supported): the edge runtime by default.
describeNextApp('middleware', 'edge');
