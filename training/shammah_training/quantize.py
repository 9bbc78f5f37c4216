"""Quantized variants of an fp32 ONNX decoder, as onnx-community names them.

``model_q4.onnx``: MatMulNBits, 4-bit weights, block 32, symmetric, accuracy level 4 (int8 activations).
``model_int8.onnx``: ``quantize_dynamic`` with int8 weights.

Both re-quantize already dequantized weights when the source was a GGUF; see
``/work/shared/model-notes.md`` on what that costs. The tied LM head is left fp32 by both.
"""

from __future__ import annotations

import logging
from pathlib import Path

VARIANT_FILES = {"fp32": "model.onnx", "q4": "model_q4.onnx", "int8": "model_int8.onnx"}
"""Variant name -> file name under the model directory's ``onnx/`` folder."""

Q4_SETTINGS = {"block_size": 32, "is_symmetric": True, "accuracy_level": 4}
INT8_SETTINGS = {"weight_type": "QInt8", "per_channel": False}


def _quiet() -> None:
    # onnxruntime's quantizers log every skipped node at INFO through the root logger.
    logging.getLogger().setLevel(logging.ERROR)


def quantize_q4(source: Path, destination: Path) -> None:
    """Write a MatMulNBits 4-bit copy of ``source`` to ``destination``."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    _quiet()
    quantizer = MatMulNBitsQuantizer(str(source), bits=4, **Q4_SETTINGS)
    quantizer.process()
    quantizer.model.save_model_to_file(str(destination), use_external_data_format=False)


def quantize_int8(source: Path, destination: Path) -> None:
    """Write a dynamically quantized int8 copy of ``source`` to ``destination``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    _quiet()
    quantize_dynamic(
        str(source),
        str(destination),
        weight_type=QuantType.QInt8,
        per_channel=INT8_SETTINGS["per_channel"],
    )


QUANTIZERS = {"q4": (quantize_q4, Q4_SETTINGS), "int8": (quantize_int8, INT8_SETTINGS)}
