"""The prebuilt voices of Gemini text-to-speech, with the style Google describes for each."""

from __future__ import annotations

from enum import StrEnum

VOICES: dict[str, str] = {
    "Zephyr": "Bright",
    "Puck": "Upbeat",
    "Charon": "Informative",
    "Kore": "Firm",
    "Fenrir": "Excitable",
    "Leda": "Youthful",
    "Orus": "Firm",
    "Aoede": "Breezy",
    "Callirrhoe": "Easy-going",
    "Autonoe": "Bright",
    "Enceladus": "Breathy",
    "Iapetus": "Clear",
    "Umbriel": "Easy-going",
    "Algieba": "Smooth",
    "Despina": "Smooth",
    "Erinome": "Clear",
    "Algenib": "Gravelly",
    "Rasalgethi": "Informative",
    "Laomedeia": "Upbeat",
    "Achernar": "Soft",
    "Alnilam": "Firm",
    "Schedar": "Even",
    "Gacrux": "Mature",
    "Pulcherrima": "Forward",
    "Achird": "Friendly",
    "Zubenelgenubi": "Casual",
    "Vindemiatrix": "Gentle",
    "Sadachbia": "Lively",
    "Sadaltager": "Knowledgeable",
    "Sulafat": "Warm",
}
DEFAULT_VOICE = "Kore"

# The voice sets a TTS or Live model of the model catalog names (its `voices` field). Every TTS model the
# catalog knows today, the Gemini 3.8 ones included, offers the same 30 prebuilt voices.
VOICE_SETS: dict[str, dict[str, str]] = {"prebuilt": VOICES}


def voices_of(voice_set: str | None) -> dict[str, str]:
    """The voices of a catalog voice set (the prebuilt ones when the catalog names none or an unknown one)."""
    return VOICE_SETS.get(voice_set or "prebuilt", VOICES)


# The voice names as an enum, so tool input schemas list them and reject others.
Voice = StrEnum("Voice", {name: name for name in VOICES})  # type: ignore[misc]
