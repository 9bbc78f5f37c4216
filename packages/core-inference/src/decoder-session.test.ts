import { runTest } from './decoder.case.test.js';
import { DecoderSession } from './decoder-session.js';

runTest({ open: (path, config) => DecoderSession.open(path, config) });
