import { createAnthropicTeacher } from './anthropic-teacher.js';
import { runTest } from './chat-model.case.test.js';
import { anthropic } from './test-support/wire-protocols.js';

runTest({
  name: 'Anthropic',
  wire: anthropic,
  create: (settings) => createAnthropicTeacher(settings),
});
