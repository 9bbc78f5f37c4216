export type { OneShotOptions } from './one-shot.js';
export { answerOnce } from './one-shot.js';
