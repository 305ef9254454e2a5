"""Text as people compare it: the one place accents come off."""

import unicodedata


def without_accents(text: str) -> str:
    """The text with its accents removed (NFKD, then the combining marks dropped): ŵ -> w, Siân -> Sian.

    Letters that do not decompose (ß, æ, ø, ł ...) stay as they are; callers that need ASCII map them first.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
