"""Languages as configuration, and the tools around them.

``CALLCENTER_LANGUAGES=en`` (the default) is the English-only deployment: tiny.en and
Piper, exactly as before. Listing more (``en,es,de``) turns on the embedded multilingual
profile: Whisper base names each utterance's language and transcribes it, and a Kokoro
voice speaks each further language (``make run LANGUAGES=en,es,de`` fetches the models).

- :mod:`.text_id`: text language ID (the cross-check on Whisper's audio language ID);
- :mod:`.model_files`: fetch every model the configured languages need (install step).

The call's language itself is followed in ``callcenter/dialogue/language.py``; the words
of each language in ``callcenter/text/`` (gloss, spoken forms, requests to switch).
"""
