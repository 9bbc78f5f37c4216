"""``python -m shammah_training.lora train JOB.json``: run one training job (see ``run.py``).

stdout carries the progress protocol (``protocol.py``); logs go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shammah_training.lora", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train, merge, export and publish one adapter")
    train.add_argument("job", type=Path, help="the job file (JSON, format shammah-lora-job/1)")
    args = parser.parse_args(argv)
    if args.command == "train":
        from shammah_training.lora.run import main_train

        return main_train(args.job)
    return 2


if __name__ == "__main__":
    sys.exit(main())
