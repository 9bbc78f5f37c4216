import { describe, expect, it } from 'vitest';
import { type CrisisKind, detectCrisis } from './crisis-detection.js';

const positives: Array<[string, CrisisKind]> = [
  ['I want to kill myself', 'self-harm'],
  ['i wanna kill myself tonight', 'self-harm'],
  ['Honestly I’m thinking about suicide', 'self-harm'],
  ['I have been feeling suicidal for weeks', 'self-harm'],
  ['I am going to end my life', 'self-harm'],
  ['I want to take my own life', 'self-harm'],
  ["I don't want to live anymore", 'self-harm'],
  ['i dont want to be alive', 'self-harm'],
  ['I just want to die', 'self-harm'],
  ['sometimes i kinda wanna die', 'self-harm'],
  ['I wish I were dead', 'self-harm'],
  ['Everyone would be better off without me', 'self-harm'],
  ['There is no reason to live', 'self-harm'],
  ['I have nothing left to live for', 'self-harm'],
  ["I've been cutting myself again", 'self-harm'],
  ['I keep thinking about hurting myself', 'self-harm'],
  ['I want to hurt myself', 'self-harm'],
  ['how many sleeping pills would it take to die', 'self-harm'],
  ['what is a lethal dose of paracetamol', 'self-harm'],
  ["I'm going to jump off a bridge", 'self-harm'],
  ["I can't go on like this", 'self-harm'],
  ['I just want to end it all', 'self-harm'],
  ['My friend told me he wants to kill himself', 'self-harm'],
  ['struggling with self-harm, need help', 'self-harm'],
  ['I KILLED THE PROCESS AND NOW I WANT TO KILL MYSELF', 'self-harm'],
  ['I am going to kill my husband', 'violence'],
  ["I'm gonna stab him", 'violence'],
  ['My ex threatened to kill me', 'violence'],
  ['my boyfriend hits me when he drinks', 'violence'],
  ["I don't feel safe at home", 'violence'],
  ['someone has a gun outside my house', 'violence'],
  ['My dad is not breathing', 'medical'],
  ['my roommate swallowed a whole bottle of pills', 'medical'],
  ['I think my sister overdosed', 'medical'],
  ["I think I'm having a heart attack", 'medical'],
];

const negatives: string[] = [
  'kill the process',
  'How do I kill the process listening on port 3000?',
  'this bug is killing me',
  'execute the child process',
  'How do I execute the child process and wait for it to exit?',
  'kill all child processes when the parent exits',
  'kill -9 the pid of the stuck node server',
  'the parent kills its children on SIGTERM',
  'I want to kill my child process cleanly',
  'if I kill her process the tests pass',
  'the worker commits suicide after the idle timeout',
  'the worker threads kill themselves when the queue is empty',
  'shoot me an email when the build is done',
  "I'm dying to know how closures work",
  'this deadline is going to kill me',
  'my boss is going to kill me if prod goes down again',
  'I almost had a heart attack when I saw the AWS bill',
  'the server is unresponsive and keeps dying',
  'I cut myself a new release branch',
  'I keep burning myself out on side projects',
  'I would shoot myself in the foot with that design',
  'dead code elimination in the bundler',
  'how do I make the daemon die gracefully',
  'let the thread die when the job finishes',
  'the app hangs when I kill the tab',
  'there is no live reload in this setup',
  'the function should end the loop early',
  'why does git hang on push?',
  'I hurt her feelings in code review, how do I apologise?',
  'Write a Python script that kills zombie processes',
  'What was the Suicide Squad box office?',
];

describe('detectCrisis', () => {
  it.each(positives)('flags %j as %s', (text, kind) => {
    expect(detectCrisis(text)?.kind).toBe(kind);
  });

  it.each(negatives)('leaves %j alone', (text) => {
    expect(detectCrisis(text)).toBeUndefined();
  });

  it('quotes the words that matched', () => {
    expect(detectCrisis('Honestly, I want to KILL   myself.')).toEqual({
      kind: 'self-harm',
      phrase: 'kill myself',
    });
  });
});
