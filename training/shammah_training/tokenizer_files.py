"""Tokenizer files in the onnx-community layout, written from a transformers 5 tokenizer.

transformers 5 writes a correct ``tokenizer.json`` (4.57 does not, from a GGUF), but it keeps the chat
template only in ``chat_template.jinja``, names its class ``TokenizersBackend`` and no longer writes
``special_tokens_map.json``. Runtimes that read the Hub layout (transformers.js, @huggingface/tokenizers)
expect the template inside ``tokenizer_config.json``, so both places get it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from shammah_training.files import write_json, write_text

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
)

# Keys transformers 5 writes that describe how this process loaded the files, not the tokenizer.
_LOAD_TIME_KEYS = ("is_local", "local_files_only", "name_or_path", "gguf_file")
_SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token")


class TokenizerFilesError(ValueError):
    """The tokenizer cannot be written in a layout runtimes read correctly."""


def load_tokenizer(source: Path) -> Any:
    """Load a transformers 5 tokenizer from a checkpoint directory or a GGUF file."""
    from transformers import AutoTokenizer

    if source.is_file():
        return AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    return AutoTokenizer.from_pretrained(str(source))


def write_tokenizer_files(
    tokenizer: Any,
    output: Path,
    scratch: Path,
    tokenizer_class: str | None = None,
    model_max_length: int | None = None,
) -> dict[str, Any]:
    """Write the four tokenizer files into ``output``; return the final tokenizer_config."""
    scratch.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(scratch))
    shutil.copyfile(scratch / "tokenizer.json", output / "tokenizer.json")

    config = json.loads((scratch / "tokenizer_config.json").read_text())
    template_file = scratch / "chat_template.jinja"
    template = template_file.read_text() if template_file.exists() else config.get("chat_template")
    if not template:
        template = getattr(tokenizer, "chat_template", None)
    if not isinstance(template, str) or not template:
        raise TokenizerFilesError(
            "the source has no chat template (neither chat_template.jinja nor a chat_template key in "
            "tokenizer_config.json); add one to the checkpoint before converting"
        )
    for key in _LOAD_TIME_KEYS:
        config.pop(key, None)
    if config.get("tokenizer_class") in (None, "TokenizersBackend"):
        # The class name that transformers 4 and 5 and transformers.js all map to "read tokenizer.json".
        config["tokenizer_class"] = tokenizer_class or "PreTrainedTokenizerFast"
    elif tokenizer_class:
        config["tokenizer_class"] = tokenizer_class
    if model_max_length is not None:
        config["model_max_length"] = model_max_length
    config.setdefault("clean_up_tokenization_spaces", False)
    config["added_tokens_decoder"] = _added_tokens_decoder(output / "tokenizer.json")
    config["chat_template"] = template
    write_json(output / "tokenizer_config.json", config)
    write_text(output / "chat_template.jinja", template)

    special = {key: config[key] for key in _SPECIAL_KEYS if config.get(key)}
    extra = [
        token["content"]
        for token in config["added_tokens_decoder"].values()
        if token["special"] and token["content"] in ("<|im_start|>", "<|im_end|>")
    ]
    if extra:
        special["additional_special_tokens"] = extra
    write_json(output / "special_tokens_map.json", special)
    return config


def _added_tokens_decoder(tokenizer_json: Path) -> dict[str, dict[str, Any]]:
    """Return the Hub's ``added_tokens_decoder`` mapping, built from tokenizer.json's added tokens."""
    added = json.loads(tokenizer_json.read_text()).get("added_tokens", [])
    return {
        str(token["id"]): {
            key: token[key] for key in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")
        }
        for token in added
    }


def token_id(tokenizer_json: Path, content: str) -> int | None:
    """Return the id of an added token in ``tokenizer.json``, or None."""
    for token in json.loads(tokenizer_json.read_text()).get("added_tokens", []):
        if token["content"] == content:
            return int(token["id"])
    return None
