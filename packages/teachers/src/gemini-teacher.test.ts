import { runTest } from './chat-model.case.test.js';
import { createGeminiTeacher } from './gemini-teacher.js';
import { gemini } from './test-support/wire-protocols.js';

runTest({
  name: 'Gemini',
  wire: gemini,
  create: (settings) => createGeminiTeacher({ ...settings, model: 'gemini-2.5-flash' }),
});
