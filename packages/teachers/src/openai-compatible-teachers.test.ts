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
  create: (settings) => createOpenAITeacher(settings),
});

runTest({
  name: 'xAI',
  wire: xai,
  create: (settings) => createXaiTeacher(settings),
});

runTest({
  name: 'Mistral',
  wire: mistral,
  create: (settings) => createMistralTeacher(settings),
});

runTest({
  name: 'Groq',
  wire: groq,
  create: (settings) => createGroqTeacher(settings),
});

runTest({
  name: 'OpenAI-compatible server',
  wire: compatible,
  create: (settings) => createOpenAICompatibleTeacher({ ...settings, model: 'qwen2.5-coder:7b' }),
});
