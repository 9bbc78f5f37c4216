import { runTest } from './decoder.case.test.js';
import { DecoderSession } from './decoder-session.js';

runTest({ open: (path, config) => DecoderSession.open(path, config) });
// The same suite through onnxruntime-node's binding (no C API, no shared KV buffer).
runTest({
  name: 'onnxruntime-node binding',
  open: (path, config) => DecoderSession.open(path, config, { binding: 'onnxruntime-node' }),
});
