"""One benchmark process: llama.cpp built for this CPU (llama-cpp-python) on the development model's GGUF.

Run by bench/index.ts when scripts/install-bench-peers.sh has built it; prints one JSON line in the
shape of the other runners' reports. Arguments: GGUF path, prompt text, prompt tokens, new tokens,
runs, threads.
"""

import json
import resource
import sys
import time

from llama_cpp import Llama


def main() -> None:
    gguf, text, prompt_tokens, new_tokens, runs, threads = sys.argv[1:7]
    started = time.perf_counter()
    llm = Llama(
        model_path=gguf,
        n_ctx=1024,
        n_batch=512,
        n_threads=int(threads),
        n_threads_batch=int(threads),
        verbose=False,
    )
    load_ms = (time.perf_counter() - started) * 1000
    prompt = llm.tokenize(text.encode(), add_bos=False)[: int(prompt_tokens)]

    def once(max_tokens: int) -> dict:
        llm.reset()
        start = time.perf_counter()
        llm.eval(prompt)
        token = llm.sample(top_k=1, temp=0.0)
        first = time.perf_counter()
        count = 1
        while count < max_tokens:
            llm.eval([token])
            token = llm.sample(top_k=1, temp=0.0)
            count += 1
        end = time.perf_counter()
        return {
            "promptTokens": len(prompt),
            "generatedTokens": count,
            "prefillTokensPerSecond": len(prompt) / (first - start),
            "decodeTokensPerSecond": (count - 1) / (end - first),
            "timeToFirstTokenMs": (first - start) * 1000,
        }

    once(16)
    results = [once(int(new_tokens)) for _ in range(int(runs))]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        json.dumps(
            {
                "runner": "llama.cpp",
                "variant": f"gguf-q4_1 ({threads} threads)",
                "runs": results,
                "peakRssMB": peak,
                "loadMs": load_ms,
            }
        )
    )


if __name__ == "__main__":
    main()
