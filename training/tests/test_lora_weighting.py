"""Weighted sampling: a 10x example counts ten times as much as a 1x one."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from shammah_training.lora.examples import Example
from shammah_training.lora.schedule import batches, weighted_schedule
from shammah_training.lora.train import Hyperparameters, mean_logprobs, train_lora
from shammah_training.tiny_models import TINY_MODELS, build_checkpoint


def test_each_example_appears_weight_times_per_epoch() -> None:
    order = weighted_schedule([10, 3, 1], epochs=2, seed=7)
    assert Counter(order) == {0: 20, 1: 6, 2: 2}
    assert order != sorted(order), "the schedule is shuffled, not grouped by example"


def test_schedule_is_seeded() -> None:
    assert weighted_schedule([10, 3, 1], 3, seed=1) == weighted_schedule([10, 3, 1], 3, seed=1)
    assert weighted_schedule([10, 3, 1], 3, seed=1) != weighted_schedule([10, 3, 1], 3, seed=2)


def test_fractional_weights_count_in_expectation() -> None:
    order = weighted_schedule([2.5, 1.0], epochs=400, seed=3)
    counts = Counter(order)
    assert counts[1] == 400
    assert 2.4 < counts[0] / 400 < 2.6


def test_fractional_epochs_cut_the_last_epoch_short() -> None:
    assert len(weighted_schedule([10, 1], epochs=1.5, seed=0)) == 16  # round(11 * 1.5)


def test_batches_and_bad_input() -> None:
    assert batches([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="positive"):
        weighted_schedule([1, 0], 1, 0)
    with pytest.raises(ValueError, match="epochs"):
        weighted_schedule([1], 0, 0)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tiny-llama") / "checkpoint"
    build_checkpoint(TINY_MODELS[0], directory)
    return directory


PROMPT = ({"role": "user", "content": "What is the capital of France?"},)
ANSWER_A = "The capital of France is Paris."
ANSWER_B = "The capital of Spain is Madrid."


def conflict_margin(checkpoint: Path, weight_a: float, weight_b: float) -> tuple[float, float]:
    """Train on two conflicting answers to one prompt; return logp(A) - logp(B) before and after."""
    examples = [Example("a", PROMPT, ANSWER_A, weight_a), Example("b", PROMPT, ANSWER_B, weight_b)]
    hp = Hyperparameters(epochs=3, learning_rate=5e-3, rank=8, alpha=16, batch_size=1, seed=0)
    result = train_lora(checkpoint, examples, hp, threads=1, score_limit=0)
    pad = result.tokenizer.pad_token_id
    after_a, after_b = mean_logprobs(result.model, result.encoded, pad, "cpu")
    with result.model.disable_adapter():
        before_a, before_b = mean_logprobs(result.model, result.encoded, pad, "cpu")
    return before_a - before_b, after_a - after_b


def test_the_10x_example_wins_a_conflict(tiny_checkpoint: Path) -> None:
    before, after_a_heavy = conflict_margin(tiny_checkpoint, 10, 1)
    _, after_b_heavy = conflict_margin(tiny_checkpoint, 1, 10)
    # Training moves the model towards whichever answer carries the weight, from the same start.
    assert after_a_heavy > before + 0.5
    assert after_a_heavy > 0.5, f"A (10x) should be preferred, margin {after_a_heavy:.3f}"
    assert after_b_heavy < -0.5, f"B (10x) should be preferred, margin {after_b_heavy:.3f}"
