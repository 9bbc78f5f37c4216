import { runTest } from './chat-model.case.test.js';
import {
  createGroqTeacher,
  createMistralTeacher,
  createOpenAICompatibleTeacher,
  createOpenAITeacher,
  createXaiTeacher,
} from './openai-compatible-teachers.js';
import { compatible, groq, mistral, openAI, xai } from './test-support/wire-protocols.js';

runTest({
  name: 'OpenAI',
  wire: openAI,
  create: ({ baseURL, apiKey, logger }) => createOpenAITeacher({ baseURL, apiKey, logger }),
});

runTest({
  name: 'xAI',
  wire: xai,
  create: ({ baseURL, apiKey, logger }) => createXaiTeacher({ baseURL, apiKey, logger }),
});

runTest({
  name: 'Mistral',
  wire: mistral,
  create: ({ baseURL, apiKey, logger }) => createMistralTeacher({ baseURL, apiKey, logger }),
});

runTest({
  name: 'Groq',
  wire: groq,
  create: ({ baseURL, apiKey, logger }) => createGroqTeacher({ baseURL, apiKey, logger }),
});

runTest({
  name: 'OpenAI-compatible server',
  wire: compatible,
  create: ({ baseURL, apiKey, logger }) =>
    createOpenAICompatibleTeacher({ baseURL, apiKey, logger, model: 'qwen2.5-coder:7b' }),
});
