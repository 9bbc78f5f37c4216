"""The LoRA training loop: weighted schedule, loss on response tokens only, progress per step."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shammah_training.lora.examples import IGNORE_INDEX, EncodedExample, Example, encode_example
from shammah_training.lora.protocol import StepClock
from shammah_training.lora.schedule import batches, weighted_schedule

DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass
class Hyperparameters:
    """How to train. ``epochs``, ``learning_rate``, ``rank`` and ``alpha`` come from config ``[lora]``."""

    epochs: float = 3.0
    learning_rate: float = 5e-4
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: tuple[str, ...] = DEFAULT_TARGET_MODULES
    batch_size: int = 4
    max_length: int = 1024
    max_steps: int | None = None
    warmup_steps: int | None = None
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> Hyperparameters:
        values = {k: v for k, v in (values or {}).items() if v is not None}
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown hyperparameters {unknown}; known: {sorted(known)}")
        if "target_modules" in values:
            values["target_modules"] = tuple(values["target_modules"])
        hp = cls(**values)
        for name in ("epochs", "learning_rate", "alpha", "max_grad_norm"):
            if not getattr(hp, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(hp, name)}")
        for name in ("rank", "batch_size", "max_length"):
            if not (isinstance(getattr(hp, name), int) and getattr(hp, name) >= 1):
                raise ValueError(f"{name} must be a positive integer, got {getattr(hp, name)!r}")
        return hp

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["target_modules"] = list(self.target_modules)
        return values


@dataclass
class TrainResult:
    """The trained PEFT model and what happened."""

    model: Any
    tokenizer: Any
    encoded: list[EncodedExample]
    metrics: dict[str, Any] = field(default_factory=dict)


def pick_device(requested: str = "auto") -> str:
    """``cuda`` when a GPU is there (or ``mps`` on Apple silicon), else ``cpu``; or as requested."""
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def example_losses(model: Any, batch: Sequence[EncodedExample], pad_id: int, device: str) -> Any:
    """Mean per-token cross-entropy over each example's response tokens (a tensor [batch])."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        n = len(example.input_ids)
        input_ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        attention[row, :n] = 1
    input_ids, labels, attention = input_ids.to(device), labels.to(device), attention.to(device)
    logits = model(input_ids=input_ids, attention_mask=attention).logits
    # Position t predicts token t + 1.
    shifted_logits = logits[:, :-1, :].float()
    shifted_labels = labels[:, 1:]
    per_token = torch.nn.functional.cross_entropy(
        shifted_logits.reshape(-1, shifted_logits.size(-1)),
        shifted_labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    ).view(shifted_labels.shape)
    counted = (shifted_labels != IGNORE_INDEX).float()
    return (per_token * counted).sum(dim=1) / counted.sum(dim=1).clamp(min=1.0)


def mean_logprobs(model: Any, encoded: Sequence[EncodedExample], pad_id: int, device: str) -> list[float]:
    """Mean per-token log-probability of each example's response (teacher-forced)."""
    import torch

    was_training = model.training
    model.eval()
    values = []
    with torch.no_grad():
        for example in encoded:
            values.append(-float(example_losses(model, [example], pad_id, device)[0]))
    if was_training:
        model.train()
    return values


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up to the full rate, then linear decay to 10% of it at the last step."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    span = max(total - warmup, 1)
    return 1.0 - 0.9 * (step - warmup) / span


def train_lora(
    checkpoint: Path,
    examples: Sequence[Example],
    hp: Hyperparameters,
    *,
    device: str = "cpu",
    threads: int | None = None,
    on_step: Callable[[dict[str, Any]], None] = lambda _event: None,
    check: Callable[[], None] = lambda: None,
    score_limit: int = 64,
) -> TrainResult:
    """Train a LoRA adapter on ``checkpoint`` with ``examples``; return the PEFT model.

    ``on_step`` gets one progress dict per optimizer step; ``check`` is called before each step and
    may raise to stop training.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(hp.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    encoded = [encode_example(tokenizer, example, hp.max_length) for example in examples]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    schedule = batches(weighted_schedule([e.weight for e in encoded], hp.epochs, hp.seed), hp.batch_size)
    if hp.max_steps is not None:
        schedule = schedule[: hp.max_steps]
    total = len(schedule)
    warmup = hp.warmup_steps if hp.warmup_steps is not None else min(10, max(1, total // 20))
    per_epoch = max(1, math.ceil(sum(e.weight for e in encoded) / hp.batch_size))

    check()
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32).to(device)
    model.config.use_cache = False
    config = LoraConfig(
        r=hp.rank,
        lora_alpha=hp.alpha,
        lora_dropout=hp.dropout,
        target_modules=list(hp.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, config)
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    scored = encoded[:score_limit]
    before = mean_logprobs(peft_model, scored, pad_id, device)

    optimizer = torch.optim.AdamW(trainable, lr=hp.learning_rate, weight_decay=hp.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warmup))
    peft_model.train()
    clock = StepClock(total)
    losses: list[float] = []
    for step, indices in enumerate(schedule):
        check()
        loss = example_losses(peft_model, [encoded[i] for i in indices], pad_id, device).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, hp.max_grad_norm)
        rate = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        value = float(loss.detach())
        losses.append(value)
        on_step(
            {
                "step": step + 1,
                "total_steps": total,
                "epoch": round((step + 1) / per_epoch, 3),
                "loss": round(value, 5),
                "learning_rate": rate,
                **clock.progress(step + 1),
            }
        )
    check()
    after = mean_logprobs(peft_model, scored, pad_id, device)
    first = losses[: max(1, min(len(losses), per_epoch))]
    last = losses[-max(1, min(len(losses), per_epoch)) :]
    metrics = {
        "steps": total,
        "steps_per_epoch": per_epoch,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "train_seconds": round(clock.progress(total)["elapsed_seconds"], 2),
        "loss_first_epoch": round(sum(first) / len(first), 5) if losses else None,
        "loss_last_epoch": round(sum(last) / len(last), 5) if losses else None,
        "mean_logprob_before": round(sum(before) / len(before), 5) if before else None,
        "mean_logprob_after": round(sum(after) / len(after), 5) if after else None,
        "per_example_logprob": {
            e.id: {"before": round(b, 5), "after": round(a, 5)}
            for e, b, a in zip(scored, before, after, strict=True)
        },
        "truncated_examples": sum(1 for e in encoded if e.truncated),
        "response_tokens": sum(e.response_tokens for e in encoded),
    }
    return TrainResult(peft_model, tokenizer, encoded, metrics)
