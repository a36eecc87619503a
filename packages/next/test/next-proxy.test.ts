import { describeNextApp } from './support/suite.js';

// Next 16's proxy.js: always the Node.js runtime.
describeNextApp('proxy', 'nodejs');
