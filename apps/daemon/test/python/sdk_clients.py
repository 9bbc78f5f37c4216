"""Talks to a running Shammah daemon with the official OpenAI and Anthropic Python SDKs.

Prints one JSON object with what each SDK saw; the TypeScript test asserts on it.
"""

import json
import sys

import anthropic
import openai

base = sys.argv[1]
question = [{"role": "user", "content": "What is the capital of France?"}]
out = {}

oa = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
whole = oa.chat.completions.create(model="shammah", messages=question, max_tokens=24)
out["openai_text"] = whole.choices[0].message.content
out["openai_finish"] = whole.choices[0].finish_reason
out["openai_usage"] = whole.usage.completion_tokens if whole.usage else None
streamed = ""
usage_chunks = 0
for chunk in oa.chat.completions.create(
    model="shammah",
    messages=question,
    max_tokens=24,
    stream=True,
    stream_options={"include_usage": True},
):
    if chunk.choices and chunk.choices[0].delta.content:
        streamed += chunk.choices[0].delta.content
    if chunk.usage is not None:
        usage_chunks += 1
out["openai_stream_text"] = streamed
out["openai_usage_chunks"] = usage_chunks
out["openai_models"] = [model.id for model in oa.models.list().data]
try:
    oa.chat.completions.create(model="shammah", messages=[], max_tokens=5)
    out["openai_error"] = None
except openai.BadRequestError as error:
    out["openai_error"] = {"status": error.status_code, "message": str(error.message)}

an = anthropic.Anthropic(base_url=base, api_key="unused", max_retries=0)
message = an.messages.create(model="shammah", max_tokens=24, messages=question)
out["anthropic_text"] = "".join(
    block.text for block in message.content if block.type == "text"
)
out["anthropic_stop"] = message.stop_reason
with an.messages.stream(model="shammah", max_tokens=24, messages=question) as stream:
    out["anthropic_stream_text"] = "".join(stream.text_stream)
    out["anthropic_stream_stop"] = stream.get_final_message().stop_reason
try:
    an.messages.create(model="shammah", messages=question)  # max_tokens is required
    out["anthropic_error"] = None
except TypeError as error:  # the SDK itself insists on max_tokens
    out["anthropic_error"] = {"status": "client", "message": str(error)}
except anthropic.BadRequestError as error:
    out["anthropic_error"] = {
        "status": error.status_code,
        "message": str(error.message),
    }

print(json.dumps(out))
