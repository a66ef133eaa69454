"""Domain words that prime Whisper per language (its "previous text" prompt).

A small multilingual model hears an unfamiliar voice badly without context: on espeak-ng
Spanish through μ-law, Whisper base wrote "el salvo de mi cuenta" for "el saldo" and
"Uno, té, o té, uno" for "uno cero cero uno"; with these prompts, "el saldo de mi cuenta"
and "Uno, cero, cero, uno". English digits get no prompt (measured: a digit prompt made tiny.en
hallucinate digits; see ``faster_whisper.DIGITS``), and tiny.en no prompt at all.
"""

from __future__ import annotations

# language -> {"plain": ..., "digits": ...}
PRIMING: dict[str, dict[str, str]] = {
    # Multilingual models only (tiny.en never gets a prompt): Whisper base wrote "my
    # marion" for espeak-ng's "my balance".
    "en": {
        "plain": "I'd like to know my balance. I lost my card. My account number. Yes, "
        "that's right. No, thanks. Goodbye.",
    },
    "es": {
        "plain": "Quiero saber mi saldo. Perdí mi tarjeta, me la robaron. Mi número de "
        "cuenta. Sí, es correcto. No, gracias. Adiós.",
        "digits": "Número de cuenta: uno, cero, cero, dos. PIN: cinco, seis, siete, ocho, "
        "nueve, cuatro, tres.",
    },
    "de": {
        "plain": "Ich möchte meinen Kontostand wissen. Ich habe meine Karte verloren. "
        "Meine Kontonummer. Ja, das ist richtig. Nein danke. Auf Wiederhören.",
        "digits": "Kontonummer: eins, null, null, zwei. PIN: fünf, sechs, sieben, acht, "
        "neun, vier, drei.",
    },
}


def priming(language: str, mode: str) -> str | None:
    return PRIMING.get(language, {}).get(mode)
