"""Unique Pupil Numbers: the check letter, and permanent versus temporary numbers.

A UPN is 13 characters: a check letter, then LA (3 digits), establishment (4), year of allocation (2) and a
serial (3). A temporary UPN ends in a letter. The check letter is the letter at (sum of position x value for
positions 2-13) mod 23 in LETTERS. python-stdnum's gb.upn rejects every Welsh LA, so this is our own.
"""

import enum
import re

LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_VALUES = {**{str(d): d for d in range(10)}, **{c: i for i, c in enumerate(LETTERS)}}
_SHAPE = re.compile(rf"^[{LETTERS}][0-9]{{11}}[0-9{LETTERS}]$")


class UpnStatus(enum.StrEnum):
    PERMANENT = "permanent"
    TEMPORARY = "temporary"
    MALFORMED = "malformed"
    WRONG_CHECK_LETTER = "wrong_check_letter"


def upn_normalise(value: str) -> str:
    """Upper-case with spaces removed: how schools sometimes type them."""
    return "".join(value.split()).upper()


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (positions 2-13)."""
    if len(body) != 12:
        raise ValueError("a UPN body is 12 characters")
    total = 0
    for position, char in enumerate(body, start=2):
        total += position * _VALUES[char]
    return LETTERS[total % 23]


def upn_status(value: str) -> UpnStatus:
    """Classify a (normalised) UPN: permanent, temporary, malformed or with a wrong check letter."""
    if not _SHAPE.match(value):
        return UpnStatus.MALFORMED
    if upn_check_letter(value[1:]) != value[0]:
        return UpnStatus.WRONG_CHECK_LETTER
    return UpnStatus.TEMPORARY if value[-1].isalpha() else UpnStatus.PERMANENT


def upn_make(la: int, establishment: int, year: int, serial: int) -> str:
    """A valid permanent UPN from its parts (for fixtures and the benchmark)."""
    body = f"{la:03d}{establishment:04d}{year % 100:02d}{serial:03d}"
    return upn_check_letter(body) + body


def upn_key(hashed: str | None) -> bytes:
    """A UPN hash (hex) as a whole extract's UPNs are held in memory to be compared: its first 16 bytes.

    A set of a school's keys costs about half what one of its hex hashes would, and 128 bits leave no pair of
    Wales's UPNs to collide.
    """
    return bytes.fromhex(hashed[:32]) if hashed else b""
