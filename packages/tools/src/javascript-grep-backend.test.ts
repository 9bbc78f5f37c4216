import { runTest } from './grep-backend.case.test.js';
import { createJavaScriptGrepBackend } from './javascript-grep-backend.js';

runTest({ create: async () => createJavaScriptGrepBackend() });
