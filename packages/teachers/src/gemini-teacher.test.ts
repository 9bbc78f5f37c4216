import { runTest } from './chat-model.case.test.js';
import { createGeminiTeacher } from './gemini-teacher.js';
import { gemini } from './test-support/wire-protocols.js';

runTest({
  name: 'Gemini',
  wire: gemini,
  create: ({ baseURL, apiKey, logger }) =>
    createGeminiTeacher({ baseURL, apiKey, logger, model: 'gemini-2.5-flash' }),
});
