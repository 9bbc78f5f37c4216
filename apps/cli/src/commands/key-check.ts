/** What checking a teacher's key found. */
export type KeyCheck =
  | { status: 'valid' }
  | { status: 'rejected'; detail: string }
  | { status: 'offline'; detail: string }
  | { status: 'unknown'; detail: string };

/** The environment variable each provider's key is read from when the config has none. */
export const KEY_VARIABLES: Readonly<Record<string, string>> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  gemini: 'GEMINI_API_KEY',
  xai: 'XAI_API_KEY',
  mistral: 'MISTRAL_API_KEY',
  groq: 'GROQ_API_KEY',
};

const DEFAULT_BASES: Readonly<Record<string, string>> = {
  anthropic: 'https://api.anthropic.com',
  openai: 'https://api.openai.com/v1',
  gemini: 'https://generativelanguage.googleapis.com',
  xai: 'https://api.x.ai/v1',
  mistral: 'https://api.mistral.ai/v1',
  groq: 'https://api.groq.com/openai/v1',
};

/** The cheapest authenticated request of each API: listing one page of models. */
function modelsRequest(
  provider: string,
  apiKey: string,
  baseUrl: string | undefined,
): { url: string; headers: Record<string, string> } {
  const base = (baseUrl ?? DEFAULT_BASES[provider] ?? '').replace(/\/+$/, '');
  switch (provider) {
    case 'anthropic':
      return {
        url: `${base.replace(/\/v1$/, '')}/v1/models?limit=1`,
        headers: { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' },
      };
    case 'gemini':
      return {
        url: `${base.replace(/\/v1(beta)?$/, '')}/v1beta/models?pageSize=1`,
        headers: { 'x-goog-api-key': apiKey },
      };
    default:
      return { url: `${base}/models`, headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} };
  }
}

/**
 * Checks a teacher's key with one cheap authenticated request (list models; nothing is generated
 * or billed). Tells a rejected key from a network that cannot reach the provider, so the wizard
 * can carry on offline with a clear note.
 */
export async function checkTeacherKey(
  options: { provider: string; apiKey: string; baseUrl?: string; timeoutMs?: number },
  fetcher: typeof globalThis.fetch = globalThis.fetch,
): Promise<KeyCheck> {
  const { url, headers } = modelsRequest(options.provider, options.apiKey, options.baseUrl);
  if (!url.startsWith('http')) return { status: 'unknown', detail: 'no address to check against' };
  let response: Response;
  try {
    response = await fetcher(url, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 8000) });
  } catch (error) {
    const cause = (
      error as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }
    ).cause;
    const code =
      cause?.code ??
      cause?.errors?.find((inner) => inner.code)?.code ??
      cause?.message ??
      (error as Error).name;
    return { status: 'offline', detail: `${new URL(url).host} cannot be reached (${code})` };
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.ok) return { status: 'valid' };
  if (response.status === 401 || response.status === 403) {
    return { status: 'rejected', detail: `${new URL(url).host} answered ${response.status}` };
  }
  return { status: 'unknown', detail: `${new URL(url).host} answered ${response.status}` };
}
