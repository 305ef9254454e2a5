"""Text as people compare it: the one place accents come off, and names in the order people read them."""

import functools
import re
import unicodedata

# Letters NFKD leaves whole, folded as PostgreSQL's unaccent folds them (its rules for Latin-1 and Latin
# Extended-A), so that a search term folded here matches the folded names PostgreSQL stores.
_UNDECOMPOSED = str.maketrans(
    {
        "Æ": "AE", "æ": "ae", "Ð": "D", "ð": "d", "Ø": "O", "ø": "o", "Þ": "TH", "þ": "th", "ß": "ss",
        "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŀ": "L", "ŀ": "l", "Ł": "L", "ł": "l",
        "Ŋ": "N", "ŋ": "n", "Œ": "OE", "œ": "oe", "Ŧ": "T", "ŧ": "t",
    }
)  # fmt: skip
# What a search ignores: spaces, hyphens, apostrophes and full stops ("Ni Bhriain", "OBrien", "Jones Williams").
SEARCH_IGNORED = " -'\u2019\u2018\u02bc`.\u2010\u2011"
_DROP_IGNORED = str.maketrans(dict.fromkeys(SEARCH_IGNORED))

# The Welsh alphabet's digraphs: each is a letter of its own, after the letter named here (ch after c, ng after g).
WELSH_DIGRAPHS = {"ch": "c", "dd": "d", "ff": "f", "ng": "g", "ll": "l", "ph": "p", "rh": "r", "th": "t"}


def without_accents(text: str) -> str:
    """The text with its accents removed (NFKD, then the combining marks dropped): ŵ -> w, Siân -> Sian.

    Letters that do not decompose (ß, æ, ø, ł ...) stay as they are; callers that need ASCII map them first.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_fold(text: str) -> str:
    """A name as search compares it: no accents, lower case, no spaces, hyphens or apostrophes.

    "Ŵyn-Pŷr" -> "wynpyr", "Ní Bhriain" -> "nibhriain", "O'Brien" -> "obrien". Names are stored folded
    (Account.search_name: this function on SQLite, PostgreSQL's unaccent through ump_search_name on
    PostgreSQL, which agree letter for letter on Latin-1 and Latin Extended-A) and the term is folded here.
    """
    return without_accents(text.translate(_UNDECOMPOSED)).lower().translate(_DROP_IGNORED)


def search_name(forename: str, surname: str) -> str:
    """What search looks in: the folded name both ways round ("elinjones joneselin"), so that a term finds
    a forename, a surname, or both in either order; a term never spans the space (search_fold drops it)."""
    return (
        f"{search_fold((forename or '') + (surname or ''))} {search_fold((surname or '') + (forename or ''))}"
    )


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


# Year and registration group names as schools write them: nursery (N, N1, Meithrin), reception (R, Rec,
# Derbyn), then years (7, Y7, Year 7, Bl 7, Blwyddyn 7), each perhaps followed by a form letter (7A, 10B).
_NURSERY = re.compile(r"^(?:nursery|meithrin|nur|n)(?=\d|\b|[^a-z])\s*", re.IGNORECASE)
_RECEPTION = re.compile(r"^(?:reception|derbyn|rec|r)(?=\d|\b|[^a-z])\s*", re.IGNORECASE)
_YEAR = re.compile(r"^(?:year|blwyddyn|yr|bl|y)?\s*(?=\d)", re.IGNORECASE)
_PARTS = re.compile(r"(\d+)")


def school_order_key(group: str) -> tuple:
    """A sort key for year groups, registration groups and classes in school order, not text order.

    Nursery first, then reception, then years by number (7A before 10A, Y2 before Y11), then anything else;
    numbers inside a name compare as numbers (9Ma2 before 9Ma10); the name itself breaks ties.
    """
    for stage, pattern in ((0, _NURSERY), (1, _RECEPTION)):
        match = pattern.match(group)
        if match and (stage == 1 or group[match.end() :][:1].isdigit() or match.end() == len(group)):
            return stage, _natural(group[match.end() :]), group
    match = _YEAR.match(group)
    if match:
        return 2, _natural(group[match.end() :]), group
    return 3, _natural(group), group


def _natural(text: str) -> tuple:
    """Digits as numbers, the rest without case: "10B" -> ((0, 10), (1, "b"))."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in _PARTS.split(text.strip())
        if part
    )


def _welsh_letters(plain: str) -> tuple:
    """(letter it follows, 1) per digraph, (character, 0) otherwise: "llwyd" -> (l,1) (w,0) (y,0) (d,0)."""
    letters, i = [], 0
    while i < len(plain):
        after = WELSH_DIGRAPHS.get(plain[i : i + 2])
        letters.append((after, 1) if after else (plain[i], 0))
        i += 2 if after else 1
    return tuple(letters)
