"""Render the chat-template fixtures of @shammah/core-inference with transformers, the reference.

``packages/core-inference/fixtures/chat-templates/cases.json`` lists, per model family, a chat
template (``<template>.jinja``, as the family's tokenizer_config.json carries it), the special tokens
and a conversation; this writes what transformers' ``apply_chat_template`` (Python jinja2) renders
for each case to ``expected/<name>.txt``. ``model-family.test.ts`` renders the same cases with
@huggingface/jinja and must produce the same text.

Usage::

    training/.venv/bin/python -m shammah_training.chat_template_fixtures
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "packages" / "core-inference" / "fixtures" / "chat-templates"
DATE_STRING = "26 Jul 2024"
"""Llama 3.x templates print today's date through ``strftime_now``, which only transformers defines;
without it they fall back to this date, as the runtime's renderer does, so both sides pass it."""


def render_case(case: dict, family: dict, fixtures: Path = FIXTURES) -> str:
    """What transformers renders for one case, ready for the assistant to answer."""
    from transformers.utils.chat_template_utils import render_jinja_template

    template = (fixtures / f"{case['template']}.jinja").read_text()
    special = {key: value for key, value in family["tokenizer_config"].items() if value is not None}
    rendered, _ = render_jinja_template(
        conversations=[case["messages"]],
        tools=case.get("tools"),
        chat_template=template,
        add_generation_prompt=True,
        date_string=DATE_STRING,
        **special,
    )
    return rendered[0]


def main(fixtures: Path = FIXTURES) -> int:
    spec = json.loads((fixtures / "cases.json").read_text())
    expected = fixtures / "expected"
    expected.mkdir(exist_ok=True)
    for case in spec["cases"]:
        text = render_case(case, spec["families"][case["template"]], fixtures)
        (expected / f"{case['name']}.txt").write_text(text, encoding="utf-8")
        print(f"{case['name']}: {len(text)} chars", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
