/**
 * The SDKs keep only part of an error body (OpenAI's keeps `body.error`, losing Mistral's and xAI's
 * shapes). This `fetch` wrapper remembers the text of every failed response, keyed by the response's
 * `Headers` object, which the SDKs put on their errors unchanged.
 */
export class ErrorBodies {
  readonly #bodies = new WeakMap<Headers, string>();
  readonly fetch: typeof globalThis.fetch;

  constructor(base: typeof globalThis.fetch = globalThis.fetch) {
    this.fetch = async (input, init) => {
      const response = await base(input, init);
      if (!response.ok) {
        const text = await response
          .clone()
          .text()
          .catch(() => undefined);
        if (text !== undefined) this.#bodies.set(response.headers, text);
      }
      return response;
    };
  }

  /** The body of the failed response whose headers these are. */
  bodyOf(headers: unknown): string | undefined {
    return headers instanceof Headers ? this.#bodies.get(headers) : undefined;
  }
}

/** Walks an error's `cause` chain looking for a Node network error code (`ECONNREFUSED`, …). */
export function isNetworkFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return true;
    if (current instanceof TypeError && /fetch failed|terminated|network/i.test(current.message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
