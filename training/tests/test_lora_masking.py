"""Loss only on the assistant's response tokens, rendered with the model's own chat template."""

from __future__ import annotations

from pathlib import Path

import pytest

from shammah_training.hf_cache import hub_cache_root, is_complete, read_ref, snapshot_path
from shammah_training.lora.examples import (
    IGNORE_INDEX,
    Example,
    ExampleError,
    encode_example,
    parse_example,
)
from shammah_training.lora.train import example_losses
from shammah_training.tiny_models import TINY_MODELS, build_checkpoint


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory = tmp_path_factory.mktemp("tiny-llama") / "checkpoint"
    build_checkpoint(TINY_MODELS[0], directory)
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32).eval()
    return tokenizer, model


def labelled_text(tokenizer, encoded) -> str:
    return tokenizer.decode([t for t in encoded.labels if t != IGNORE_INDEX], skip_special_tokens=False)


def test_only_the_response_and_its_end_token_are_labelled(tiny) -> None:
    tokenizer, _ = tiny
    example = Example(
        "x", ({"role": "user", "content": "Hello! What is 2 + 2?"},), "Two plus two is four.", 1
    )
    encoded = encode_example(tokenizer, example, max_length=512)
    assert labelled_text(tokenizer, encoded) == "Two plus two is four.<|im_end|>"
    prompt = tokenizer.apply_chat_template(list(example.messages), add_generation_prompt=True, tokenize=False)
    assert (
        encoded.input_ids[: encoded.prompt_length] == tokenizer(prompt, add_special_tokens=False)["input_ids"]
    )
    assert all(label == IGNORE_INDEX for label in encoded.labels[: encoded.prompt_length])
    # Nothing after the end-of-turn token (the template's trailing newline) is trained on.
    assert encoded.labels[-1] == tokenizer.eos_token_id
    assert len(encoded.input_ids) == len(encoded.labels)


def test_earlier_assistant_turns_are_context_not_targets(tiny) -> None:
    tokenizer, _ = tiny
    messages = (
        {"role": "system", "content": "You are a tiny test model."},
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "The capital of Italy is Rome."},
        {"role": "user", "content": "And France?"},
    )
    encoded = encode_example(tokenizer, Example("x", messages, "The capital of France is Paris.", 3), 512)
    assert labelled_text(tokenizer, encoded) == "The capital of France is Paris.<|im_end|>"
    assert "Rome" in tokenizer.decode(encoded.input_ids[: encoded.prompt_length])


def test_long_conversations_drop_their_oldest_turns_first(tiny) -> None:
    tokenizer, _ = tiny
    messages = (
        {"role": "system", "content": "You are a tiny test model."},
        {"role": "user", "content": "Rivers carry water from mountains to the sea. " * 8},
        {"role": "assistant", "content": "Yes."},
        {"role": "user", "content": "What is 2 + 2?"},
    )
    example = Example("x", messages, "Four.", 1)
    full = encode_example(tokenizer, example, 4096)
    cut = encode_example(tokenizer, example, full.prompt_length - 10)
    assert cut.truncated and not full.truncated
    text = tokenizer.decode(cut.input_ids)
    assert "tiny test model" in text and "What is 2 + 2?" in text and "Rivers" not in text
    assert labelled_text(tokenizer, cut) == "Four.<|im_end|>"
    # A response longer than the room left is cut at the end, never dropped silently.
    short = encode_example(tokenizer, Example("y", messages[-1:], "Two plus two is four. " * 20, 1), 40)
    assert len(short.input_ids) == 40 and short.truncated and short.response_tokens > 0


def test_the_loss_is_the_mean_over_response_tokens_only(tiny) -> None:
    import torch

    tokenizer, model = tiny
    a = encode_example(tokenizer, Example("a", ({"role": "user", "content": "Hello!"},), "Hi there.", 1), 512)
    b = encode_example(
        tokenizer,
        Example("b", ({"role": "user", "content": "What is 2 + 2?"},), "Two plus two is four.", 1),
        512,
    )
    with torch.no_grad():
        batched = example_losses(model, [a, b], pad_id=2, device="cpu")
        for row, encoded in enumerate((a, b)):
            logits = model(torch.tensor([encoded.input_ids])).logits[0].log_softmax(-1)
            positions = [i for i, label in enumerate(encoded.labels) if label != IGNORE_INDEX]
            manual = -sum(float(logits[i - 1, encoded.labels[i]]) for i in positions) / len(positions)
            # Padding the shorter example in a batch changes nothing.
            assert float(batched[row]) == pytest.approx(manual, abs=1e-4)
    # Changing the prompt's labels cannot matter: they are never read.
    assert a.labels[: a.prompt_length] == [IGNORE_INDEX] * a.prompt_length


def test_the_original_queue_format_is_read() -> None:
    example = parse_example({"query": "Hi?", "response": "Hello.", "weight": 10.0, "feedback": "x"}, "line 1")
    assert example.messages == ({"role": "user", "content": "Hi?"},)
    assert example.weight == 10.0 and example.id.startswith("sha256-")
    for bad in ({"query": "q"}, {"query": "q", "response": "r", "weight": 0}, {"response": "r"}):
        with pytest.raises(ExampleError):
            parse_example(bad, "line 2")


def real_snapshot() -> Path | None:
    cache = hub_cache_root()
    revision = read_ref(cache, "HuggingFaceTB/SmolLM2-135M-Instruct")
    path = snapshot_path(cache, "HuggingFaceTB/SmolLM2-135M-Instruct", revision) if revision else None
    return path if path is not None and is_complete(path) else None


def test_smollm2_template_default_system_prompt_is_context() -> None:
    snapshot = real_snapshot()
    if snapshot is None:
        pytest.skip("the real dev model is not installed (run `bash scripts/models-dev.sh`)")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(snapshot))
    encoded = encode_example(
        tokenizer,
        Example("x", ({"role": "user", "content": "What is Shammah?"},), "A coding assistant.", 10),
        1024,
    )
    prompt = tokenizer.decode(encoded.input_ids[: encoded.prompt_length])
    assert prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert prompt.endswith("<|im_start|>assistant\n")
    assert labelled_text(tokenizer, encoded) == "A coding assistant.<|im_end|>"
    assert encoded.labels[-1] == 2
