"""A tiny randomly initialised XTTS, saved like the published XTTS-v2 model directory.

Test support: the real weights cannot be downloaded here, so tests build this model
with coqui-tts's own classes (2 GPT layers, 64 channels, a BPE vocab trained on the
fly) and load it through exactly the production code (:func:`callcenter.tts.xtts.load_xtts`).
It speaks noise, but it streams through the same ``inference_stream`` machinery.
Only importable in the XTTS environment (torch, coqui-tts).
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np

# Enough text for a BPE vocabulary covering lowercase English; merges don't matter.
_CORPUS = [
    "hello thank you for calling how can i help you today",
    "your balance is two thousand four hundred seventeen dollars and thirty five cents",
    "let me look up your account one moment please",
    "i can transfer you to an agent is there anything else",
    "the quick brown fox jumps over the lazy dog",
]
SPEAKER_NAME = "Tiny Speaker"


def build_tiny_xtts(
    directory: Path, *, seed: int = 0, max_audio_tokens: int = 48, with_speakers: bool = True
) -> Path:
    """Write config.json, model.pth, vocab.json (and speakers_xtts.pth) into ``directory``.

    ``max_audio_tokens`` bounds generation (each token ~46 ms of audio), because a random
    GPT rarely samples the stop token and would otherwise run to the production limit.
    """
    import torch
    from TTS.tts.configs.xtts_config import XttsArgs, XttsConfig
    from TTS.tts.models.xtts import Xtts

    from callcenter.tts.xtts import conditioning_from_wav

    directory.mkdir(parents=True, exist_ok=True)
    vocab_path = directory / "vocab.json"
    config = XttsConfig(
        model_args=XttsArgs(
            gpt_layers=2,
            gpt_n_model_channels=64,
            gpt_n_heads=4,
            gpt_code_stride_len=1024,
            gpt_max_audio_tokens=max_audio_tokens,
            gpt_use_perceiver_resampler=True,  # as in XTTS-v2
            decoder_input_dim=64,
        ),
    )
    _train_vocab(vocab_path, config.languages)

    torch.manual_seed(seed)
    model = Xtts(config)
    # Load the vocabulary the way load_checkpoint will, so the text embedding is sized
    # for it and the saved state dict matches the loaded model.
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(vocab_path))
    model.init_models()
    torch.save({"model": model.state_dict()}, directory / "model.pth")
    config.save_json(str(directory / "config.json"))

    if with_speakers:
        # Built-in voices are stored as precomputed conditioning, like XTTS-v2's speakers.
        wav = directory / "reference.wav"
        write_reference_wav(wav)
        model.eval()
        latent, embedding = conditioning_from_wav(model, wav)
        voice = {"gpt_cond_latent": latent.cpu(), "speaker_embedding": embedding.cpu()}
        torch.save({SPEAKER_NAME: voice}, directory / "speakers_xtts.pth")
    return directory


def _train_vocab(path: Path, languages: list[str]) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import BPE
    from tokenizers.pre_tokenizers import Whitespace
    from tokenizers.trainers import BpeTrainer

    # The special tokens VoiceBpeTokenizer relies on: [START]/[STOP] bound the text,
    # [SPACE] replaces spaces, [lang] prefixes every text.
    specials = ["[STOP]", "[UNK]", "[SPACE]", "[START]", *(f"[{lang}]" for lang in languages)]
    tokenizer = Tokenizer(BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    trainer = BpeTrainer(
        vocab_size=300,
        special_tokens=specials,
        initial_alphabet=list(string.ascii_lowercase + string.digits + string.punctuation),
    )
    tokenizer.train_from_iterator(_CORPUS, trainer=trainer)
    tokenizer.save(str(path))


def write_reference_wav(path: Path, seconds: float = 3.0, rate: int = 22050) -> Path:
    """A voiced-sounding reference clip (harmonics with a moving pitch) for cloning."""
    import wave

    t = np.arange(int(seconds * rate)) / rate
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    audio = sum(np.sin(k * phase) / k for k in range(1, 8))
    audio = audio * (0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2.5 * t)))  # syllable-ish envelope
    audio = 0.5 * audio / np.max(np.abs(audio))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((audio * 32767).astype("<i2").tobytes())
    return path
