import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  type Logger,
  type ModelCapabilities,
  silentLogger,
} from '@shammah/provider';
import { AllTeachersFailedError, isApiCallError, type TeacherFailure } from './errors.js';

/** Settings of a {@link TeacherChain}. */
export interface TeacherChainOptions {
  logger?: Logger;
  /**
   * Whether an error from one teacher moves the chain on to the next. Default: retryable errors
   * (rate limits, server, network, time-out), auth errors (a bad or out-of-credit key) and a model
   * the provider does not know.
   */
  shouldFallBack?: (error: unknown) => boolean;
  /** Called when a teacher fails and the next one is tried. */
  onFallback?: (event: { from: ChatModel; to: ChatModel; error: unknown }) => void;
}

/** A {@link ChatResult} that also says which teacher answered and which failed before it. */
export interface TeacherChainResult extends ChatResult {
  /** Name of the teacher that answered. */
  teacher: string;
  /** Provider of the teacher that answered. */
  provider: string;
  failures: TeacherFailure[];
}

/** The default {@link TeacherChainOptions.shouldFallBack}. */
export function isFallbackError(error: unknown): boolean {
  if (!isApiCallError(error)) return false;
  return error.isRetryable || error.kind === 'auth' || error.kind === 'not-found';
}

function nameOf(model: ChatModel): string {
  const { name } = model as ChatModel & { name?: unknown };
  return typeof name === 'string' && name !== '' ? name : `${model.provider}:${model.modelId}`;
}

/**
 * Teachers tried in order: the first is the primary, the rest are fallbacks, as in the original's
 * `[[teachers]]` list. A teacher's failure moves on to the next one only before it has streamed
 * anything and only for errors another provider may not have (see {@link isFallbackError}); a
 * context-too-long or invalid request fails at once, since every teacher would reject it.
 *
 * @example
 * ```ts
 * const chain = new TeacherChain([createAnthropicTeacher(), createOpenAITeacher()]);
 * const { text, teacher } = await chain.generate({ messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export class TeacherChain implements ChatModel {
  readonly provider = 'teacher-chain';
  readonly teachers: readonly ChatModel[];
  readonly #logger: Logger;
  readonly #shouldFallBack: (error: unknown) => boolean;
  readonly #onFallback: TeacherChainOptions['onFallback'];
  #lastAnswered: ChatModel | undefined;

  constructor(teachers: readonly ChatModel[], options: TeacherChainOptions = {}) {
    if (teachers.length === 0) throw new TypeError('A TeacherChain needs at least one teacher.');
    this.teachers = teachers;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'teacher-chain' });
    this.#shouldFallBack = options.shouldFallBack ?? isFallbackError;
    this.#onFallback = options.onFallback;
  }

  /** The primary teacher's model id. */
  get modelId(): string {
    return this.teachers[0]!.modelId;
  }

  /** The primary teacher's capabilities. */
  get capabilities(): ModelCapabilities {
    return this.teachers[0]!.capabilities;
  }

  /** The teacher that answered the most recent successful request. */
  get lastAnswered(): ChatModel | undefined {
    return this.#lastAnswered;
  }

  /** Records a failure and returns normally when the next teacher should be tried; else throws. */
  #fallBackOrThrow(index: number, error: unknown, failures: TeacherFailure[]): void {
    const teacher = this.teachers[index]!;
    failures.push({ teacher: nameOf(teacher), error });
    // An error every teacher would give (context too long, invalid request) is the caller's to handle.
    if (!this.#shouldFallBack(error)) throw error;
    const next = this.teachers[index + 1];
    if (!next) throw failures.length === 1 ? error : new AllTeachersFailedError(failures);
    this.#logger.warn(
      {
        from: nameOf(teacher),
        to: nameOf(next),
        kind: isApiCallError(error) ? error.kind : undefined,
        statusCode: isApiCallError(error) ? error.statusCode : undefined,
      },
      'teacher failed; trying the next one',
    );
    this.#onFallback?.({ from: teacher, to: next, error });
  }

  /** Streams from the first teacher that starts answering. The finish part's `modelId` tells which. */
  async *stream(request: ChatRequest): AsyncGenerator<ChatStreamPart> {
    const failures: TeacherFailure[] = [];
    for (let index = 0; index < this.teachers.length; index += 1) {
      const teacher = this.teachers[index]!;
      let started = false;
      try {
        for await (const part of teacher.stream(request)) {
          started = true;
          if (part.type === 'finish') {
            this.#lastAnswered = teacher;
            yield { ...part, modelId: part.modelId ?? teacher.modelId };
          } else {
            yield part;
          }
        }
        return;
      } catch (error) {
        if (started) throw error;
        this.#fallBackOrThrow(index, error, failures);
      }
    }
  }

  /** The whole answer from the first teacher that gives one, with which teacher it was. */
  async generate(request: ChatRequest): Promise<TeacherChainResult> {
    const failures: TeacherFailure[] = [];
    for (let index = 0; index < this.teachers.length; index += 1) {
      const teacher = this.teachers[index]!;
      try {
        const result = await teacher.generate(request);
        this.#lastAnswered = teacher;
        return {
          ...result,
          modelId: result.modelId ?? teacher.modelId,
          teacher: nameOf(teacher),
          provider: teacher.provider,
          failures,
        };
      } catch (error) {
        this.#fallBackOrThrow(index, error, failures);
      }
    }
    throw new AllTeachersFailedError(failures);
  }
}
