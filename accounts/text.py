"""Text as people compare it: the one place accents come off, and names in the order people read them."""

import functools
import unicodedata

# The Welsh alphabet's digraphs: each is a letter of its own, after the letter named here (ch after c, ng after g).
WELSH_DIGRAPHS = {"ch": "c", "dd": "d", "ff": "f", "ng": "g", "ll": "l", "ph": "p", "rh": "r", "th": "t"}


def without_accents(text: str) -> str:
    """The text with its accents removed (NFKD, then the combining marks dropped): ŵ -> w, Siân -> Sian.

    Letters that do not decompose (ß, æ, ø, ł ...) stay as they are; callers that need ASCII map them first.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.lru_cache(maxsize=65536)
def name_sort_key(text: str, *, welsh: bool = False) -> tuple:
    """A sort key for a name as ICU's root (und) or Welsh (cy) collation orders it, for databases without ICU.

    Letters first, ignoring accents and case (ap Rhys among the A's, Ŵyn among the W's); then accents, then
    case (lower first) break ties; in Welsh each digraph is one letter (Lynch before Llwyd, Bangor before Banc).
    Punctuation apart (a hyphen and an apostrophe may swap), it agrees with ICU.
    """
    plain = without_accents(text).casefold()
    letters = _welsh_letters(plain) if welsh else tuple((c, 0) for c in plain)
    return letters, text.casefold(), text.swapcase()


def _welsh_letters(plain: str) -> tuple:
    """(letter it follows, 1) per digraph, (character, 0) otherwise: "llwyd" -> (l,1) (w,0) (y,0) (d,0)."""
    letters, i = [], 0
    while i < len(plain):
        after = WELSH_DIGRAPHS.get(plain[i : i + 2])
        letters.append((after, 1) if after else (plain[i], 0))
        i += 2 if after else 1
    return tuple(letters)
