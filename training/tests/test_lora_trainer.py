"""The trainer as the TypeScript side runs it: a subprocess speaking JSON lines on stdout.

Runs ``python -m shammah_training.lora train JOB`` on a tiny random-weight Llama (its own checkpoint
as the base), so a whole job — train, merge, ONNX export, publish — takes seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shammah_training.lora import ADAPTER_FORMAT, JOB_FORMAT
from shammah_training.lora.protocol import EXIT_CANCELLED, PROTOCOL
from shammah_training.tiny_models import TINY_MODELS, build_checkpoint

TRAINING_DIR = Path(__file__).resolve().parents[1]
EXAMPLES = [
    {"id": "a", "weight": 10, "messages": [{"role": "user", "content": "Hello!"}], "response": "Hi there."},
    {"query": "What is 2 + 2?", "response": "Two plus two is four.", "weight": 1.0, "feedback": "good"},
]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tiny-llama") / "checkpoint"
    build_checkpoint(TINY_MODELS[0], directory)
    return directory


def write_job(root: Path, checkpoint: Path, version: str = "v1", **overrides) -> Path:
    examples = root / "examples.jsonl"
    examples.write_text("".join(json.dumps(e) + "\n" for e in EXAMPLES))
    job = {
        "format": JOB_FORMAT,
        "version": version,
        "adapters_dir": str(root / "adapters"),
        "examples": str(examples),
        "base": {"model_id": "test/tiny-llama", "revision": "r1", "checkpoint": str(checkpoint)},
        "hyperparameters": {"epochs": 1, "learning_rate": 0.005, "rank": 4, "alpha": 8, "batch_size": 2},
        "export": {"variants": []},
        "threads": 1,
        **overrides,
    }
    path = root / f"job-{version}.json"
    path.write_text(json.dumps(job))
    return path


def start(job: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(TRAINING_DIR), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "shammah_training.lora", "train", str(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def events_until(process: subprocess.Popen[str], wanted: str) -> list[dict]:
    """Read protocol lines until an event named ``wanted`` (or the end of stdout)."""
    events = []
    assert process.stdout is not None
    for line in process.stdout:
        events.append(json.loads(line))  # every stdout line must be JSON
        if events[-1]["event"] == wanted:
            break
    return events


def test_a_job_reports_progress_and_publishes_an_adapter(tmp_path: Path, tiny_checkpoint: Path) -> None:
    process = start(write_job(tmp_path, tiny_checkpoint))
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    events = [json.loads(line) for line in stdout.splitlines()]
    names = [e["event"] for e in events]
    assert events[0] == {"event": "start", "protocol": PROTOCOL, "pid": process.pid, "version": "v1"}
    assert [e["phase"] for e in events if e["event"] == "phase"] == [
        "base",
        "train",
        "merge",
        "export",
        "publish",
    ]
    progress = [e for e in events if e["event"] == "progress"]
    # Weights 10 + 1 = 11 occurrences per epoch, in batches of 2.
    assert [e["step"] for e in progress] == list(range(1, 7))
    assert {e["total_steps"] for e in progress} == {6}
    assert progress[-1]["epoch"] == pytest.approx(1.0)
    assert progress[-1]["eta_seconds"] == 0
    for event in progress:
        assert event["loss"] > 0 and event["learning_rate"] > 0 and event["elapsed_seconds"] >= 0
    assert names[-1] == "done" and names.count("done") == 1

    adapter = tmp_path / "adapters" / "v1"
    assert events[-1]["dir"] == str(adapter)
    manifest = json.loads((adapter / "manifest.json").read_text())
    assert manifest["format"] == ADAPTER_FORMAT and manifest["version"] == "v1"
    assert manifest["base"]["model_id"] == "test/tiny-llama" and manifest["base"]["revision"] == "r1"
    assert manifest["examples"]["count"] == 2 and manifest["examples"]["total_weight"] == 11
    assert manifest["examples"]["ids"][0] == "a"
    assert manifest["hyperparameters"]["rank"] == 4 and manifest["hyperparameters"]["learning_rate"] == 0.005
    assert manifest["metrics"]["export_parity"]["max_abs_diff"] < 1e-3
    assert manifest["metrics"]["mean_logprob_after"] > manifest["metrics"]["mean_logprob_before"]
    assert (adapter / "adapter" / "adapter_model.safetensors").is_file()
    assert (adapter / "model" / "onnx" / "model.onnx").is_file()
    assert (adapter / "model" / "tokenizer.json").is_file()
    assert json.loads((adapter / "adapter" / "adapter_config.json").read_text())["r"] == 4
    assert not [p for p in (tmp_path / "adapters").iterdir() if p.name.startswith(".v1")]

    # The exported graph is the trained model: it prefers the 10x answer more than the base does.
    from tokenizers import Tokenizer

    from shammah_training.onnx_runner import OnnxCausalLM

    tokenizer = Tokenizer.from_file(str(adapter / "model" / "tokenizer.json"))
    prompt = tokenizer.encode("<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n").ids
    answer = tokenizer.encode("Hi there.<|im_end|>").ids

    def score(graph: Path) -> float:
        logits, _ = OnnxCausalLM(graph, 1).forward(prompt + answer)
        shifted = logits[len(prompt) - 1 : -1].astype(np.float64)
        peak = shifted.max(-1, keepdims=True)
        logp = shifted - peak - np.log(np.exp(shifted - peak).sum(-1, keepdims=True))
        return float(np.mean([logp[i, t] for i, t in enumerate(answer)]))

    assert score(adapter / "model" / "onnx" / "model.onnx") > manifest["metrics"]["mean_logprob_before"] + 0.5


def test_sigterm_cancels_cleanly(tmp_path: Path, tiny_checkpoint: Path) -> None:
    job = write_job(tmp_path, tiny_checkpoint, hyperparameters={"epochs": 10_000, "batch_size": 1})
    process = start(job)
    events = events_until(process, "progress")
    assert events[-1]["event"] == "progress"
    process.send_signal(signal.SIGTERM)
    rest = events_until(process, "cancelled")
    process.wait(timeout=60)
    assert process.returncode == EXIT_CANCELLED
    assert rest[-1] == {"event": "cancelled", "reason": "received SIGTERM"}
    assert not any(e["event"] in ("done", "error") for e in rest)
    assert list((tmp_path / "adapters").iterdir()) == [], "a cancelled job leaves nothing behind"


def test_sigkill_leaves_no_adapter_and_the_next_job_cleans_up(tmp_path: Path, tiny_checkpoint: Path) -> None:
    process = start(write_job(tmp_path, tiny_checkpoint, hyperparameters={"epochs": 10_000, "batch_size": 1}))
    events_until(process, "progress")
    process.kill()
    process.wait(timeout=60)
    adapters = tmp_path / "adapters"
    leftovers = [p.name for p in adapters.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(f".v1.tmp-{process.pid}-")
    assert not (adapters / "v1").exists()

    # The next job removes the dead run's staging directory before anything else (here it then
    # stops at its bad example; a complete later job is shown end to end on the real model).
    job = write_job(tmp_path, tiny_checkpoint)
    (tmp_path / "examples.jsonl").write_text('{"query": "no response"}\n')
    second = start(job)
    stdout, _ = second.communicate(timeout=120)
    assert second.returncode == 1 and json.loads(stdout.splitlines()[-1])["event"] == "error"
    assert list(adapters.iterdir()) == []


def test_errors_are_reported_with_a_code(tmp_path: Path, tiny_checkpoint: Path) -> None:
    job = write_job(tmp_path, tiny_checkpoint)
    (tmp_path / "examples.jsonl").write_text('{"query": "only a question"}\n')
    process = start(job)
    stdout, _ = process.communicate(timeout=120)
    events = [json.loads(line) for line in stdout.splitlines()]
    assert process.returncode == 1
    assert events[-1]["event"] == "error" and "response" in events[-1]["message"]

    existing = tmp_path / "adapters" / "v2"
    existing.mkdir(parents=True)
    process = start(write_job(tmp_path, tiny_checkpoint, version="v2"))
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 1
    assert json.loads(stdout.splitlines()[-1])["code"] == "bad_job"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something-else/9"}))
    process = start(bad)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 1 and "shammah-lora-job/1" in json.loads(stdout)["message"]


def test_a_dead_runs_staging_dir_is_removed_but_a_live_ones_is_kept(tmp_path: Path) -> None:
    from shammah_training.lora.staging import remove_dead_temp_dirs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f".v3.tmp-{dead.pid}-abc").mkdir()
    (tmp_path / f".v4.tmp-{os.getpid()}-abc").mkdir()
    (tmp_path / "v2").mkdir()
    time.sleep(0.01)
    removed = remove_dead_temp_dirs(tmp_path)
    assert [p.name for p in removed] == [f".v3.tmp-{dead.pid}-abc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".v4.tmp-{os.getpid()}-abc", "v2"]
