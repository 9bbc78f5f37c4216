"""Training examples: reading the job's examples file and turning each into masked token ids.

The examples file has one JSON object per line, either the TypeScript side's training view::

    {"id": "…", "weight": 10, "messages": [{"role": "user", "content": "…"}], "response": "…"}

or a line of the original Shammah's ``training_queue.jsonl``
(``{"query": "…", "response": "…", "weight": 10.0, "feedback": "…"}``), so the trainer can be run on
an old queue by hand. Blank lines are ignored; a line that is not valid JSON is an error here
(the TypeScript queue reader already skipped torn lines before writing the job).

Encoding renders the conversation with the model's own chat template, exactly as the runtime does
(``add_generation_prompt=True``), and appends the response as the template renders an assistant
turn. Labels cover only the response tokens up to and including the end-of-turn token; the prompt,
earlier assistant turns, and anything the template writes after the end-of-turn token are masked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNORE_INDEX = -100
"""Label of a position that takes no part in the loss (PyTorch's cross-entropy default)."""


class ExampleError(ValueError):
    """An example cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class Example:
    """One weighted example: the conversation so far and the response the user wants."""

    id: str
    messages: tuple[dict[str, str], ...]
    response: str
    weight: float


@dataclass(frozen=True)
class EncodedExample:
    """Token ids of a prompt + response, and labels that are ``IGNORE_INDEX`` outside the response."""

    id: str
    weight: float
    input_ids: list[int]
    labels: list[int]
    prompt_length: int
    truncated: bool

    @property
    def response_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def parse_example(record: dict[str, Any], where: str) -> Example:
    """Build an :class:`Example` from one decoded line (training view or original format)."""
    response = record.get("response")
    if not isinstance(response, str) or not response.strip():
        raise ExampleError(f"{where}: 'response' must be a non-empty string")
    weight = record.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise ExampleError(f"{where}: 'weight' must be a positive number, got {weight!r}")
    if "messages" in record:
        raw = record["messages"]
        if not isinstance(raw, list) or not raw:
            raise ExampleError(f"{where}: 'messages' must be a non-empty list")
        messages = []
        for index, message in enumerate(raw):
            if (
                not isinstance(message, dict)
                or not isinstance(message.get("role"), str)
                or not isinstance(message.get("content"), str)
            ):
                raise ExampleError(f"{where}: messages[{index}] needs string 'role' and 'content'")
            messages.append({"role": message["role"], "content": message["content"]})
    elif isinstance(record.get("query"), str):
        messages = [{"role": "user", "content": record["query"]}]
    else:
        raise ExampleError(f"{where}: needs 'messages' (or the original format's 'query')")
    identifier = record.get("id")
    if not isinstance(identifier, str) or not identifier:
        canonical = json.dumps([messages, response], sort_keys=True, ensure_ascii=False)
        identifier = "sha256-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return Example(identifier, tuple(messages), response, float(weight))


def read_examples(path: Path) -> list[Example]:
    """Read every example of a JSONL file; raise :class:`ExampleError` on a bad line."""
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ExampleError(f"{path}:{number}: not valid JSON ({error})") from error
            if not isinstance(record, dict):
                raise ExampleError(f"{path}:{number}: a line must be a JSON object")
            examples.append(parse_example(record, f"{path}:{number}"))
    if not examples:
        raise ExampleError(f"{path} holds no examples; add some to the training queue first")
    return examples


def end_of_turn_id(tokenizer: Any) -> int:
    """The id of the token that ends an assistant turn (the tokenizer's EOS, e.g. ``<|im_end|>``)."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ExampleError("the tokenizer has no eos token; the chat template cannot be trained on")
    return int(eos)


def encode_example(tokenizer: Any, example: Example, max_length: int) -> EncodedExample:
    """Render ``example`` with the chat template and mask everything but the response.

    When the whole does not fit in ``max_length`` tokens, the oldest non-system messages are dropped
    first (the conversation keeps its latest turns), then the response is cut at the end.
    """
    messages = list(example.messages)
    eos = end_of_turn_id(tokenizer)
    truncated = False
    while True:
        prompt_ids, response_ids = _render(tokenizer, messages, example.response, eos)
        if len(prompt_ids) + len(response_ids) <= max_length:
            break
        droppable = [i for i, m in enumerate(messages) if m["role"] != "system"]
        if len(droppable) <= 1:
            break
        del messages[droppable[0]]
        truncated = True
    room = max_length - len(prompt_ids)
    if room < 1:
        raise ExampleError(
            f"example {example.id}: its last message alone is {len(prompt_ids)} tokens, more than "
            f"max_length {max_length}; raise max_length or shorten the example"
        )
    if len(response_ids) > room:
        response_ids = response_ids[:room]
        truncated = True
    input_ids = prompt_ids + response_ids
    labels = [IGNORE_INDEX] * len(prompt_ids) + response_ids
    return EncodedExample(example.id, example.weight, input_ids, labels, len(prompt_ids), truncated)


def _render(
    tokenizer: Any, messages: list[dict[str, str]], response: str, eos: int
) -> tuple[list[int], list[int]]:
    prompt_text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    full_text = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": response}], tokenize=False
    )
    if not full_text.startswith(prompt_text):
        raise ExampleError(
            "the chat template renders an assistant turn that does not extend the generation prompt; "
            "this template is not supported for training"
        )
    # The runtime encodes the rendered prompt without adding special tokens (the template writes
    # them), then generates the response token by token: encode the two parts the same way.
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    tail_ids = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False)["input_ids"]
    if eos not in tail_ids:
        raise ExampleError(
            f"the chat template does not end an assistant turn with the eos token (id {eos}); "
            "the model would never learn to stop"
        )
    response_ids = tail_ids[: tail_ids.index(eos) + 1]
    return list(prompt_ids), list(response_ids)
