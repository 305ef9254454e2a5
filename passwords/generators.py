"""Password generators: pure functions over the operating system's CSPRNG, no Django models.

Both styles avoid characters that are easily misread on a printed slip: 0/O/o, 1/l/I.
A generated password still goes through the policy (passwords.services retries on the rare draw the
blocklist or the personal-information rule refuses), so the generators only guarantee the shape.
"""

import os
import string
import struct

from passwords.words import WORDS

LOOK_ALIKES = frozenset("0Oo1lI")
UPPER = "".join(c for c in string.ascii_uppercase if c not in LOOK_ALIKES)
LOWER = "".join(c for c in string.ascii_lowercase if c not in LOOK_ALIKES)
DIGITS = "".join(c for c in string.digits if c not in LOOK_ALIKES)

MIN_LENGTH = 8  # the Hwb policy
RANDOM_DEFAULT_LENGTH = 12
RANDOM_MIN_LENGTH = 10
LEARNER_MIN_DIGITS = 2
# A learner password is one of at least this many (2^20), each as likely: a password tried against every
# learner of a school finds one far less often than with one word and two digits (about 2^17, and the
# likeliest few far likelier than that).
LEARNER_MIN_POSSIBILITIES = 2**20


class Draws:
    """Uniform random integers from the operating system's CSPRNG, read in blocks.

    Each value is as good as `secrets.randbelow` gives (64-bit draws, the top partial range rejected so that no
    value is likelier than another), but one system call serves hundreds of values: the country's first
    provisioning makes half a million passwords. Nothing outlives the object, so no state crosses a fork.
    """

    def __init__(self, block: int = 4096):
        self._words = max(1, block // 8)
        self._values: list[int] = []
        self._limits: dict[int, int] = {}

    def below(self, n: int) -> int:
        limit = self._limits.get(n)
        if limit is None:
            if not 0 < n <= 1 << 63:
                raise ValueError("n must be between 1 and 2**63")
            limit = self._limits[n] = (1 << 64) - (1 << 64) % n
        values = self._values
        while True:
            if not values:
                values += struct.unpack(f"<{self._words}Q", os.urandom(8 * self._words))
                values.reverse()  # taken from the end, in the order they were read
            value = values.pop()
            if value < limit:
                return value % n

    def choice(self, items):
        return items[self.below(len(items))]


def learner_password(*, language: str = "en", draws: Draws | None = None) -> str:
    """Two capitalised familiar words then digits, e.g. `OtterPanda47`: at least LEARNER_MIN_POSSIBILITIES.

    The number of digits is fixed per word list (learner_digits), so every password of a language is as
    likely as any other: no short list of likelier passwords to try first.
    """
    draws = draws or Draws(64)
    words = WORDS.get((language or "en")[:2], WORDS["en"])
    first, second = draws.choice(words), draws.choice(words)
    n_digits = learner_digits(len(words))
    # one draw for all the digits (uniform over every string of n_digits)
    draw, base, digits = draws.below(len(DIGITS) ** n_digits), len(DIGITS), []
    for _ in range(n_digits):
        draw, d = divmod(draw, base)
        digits.append(DIGITS[d])
    return first.capitalize() + second.capitalize() + "".join(digits)


def learner_digits(n_words: int) -> int:
    """The fewest digits (at least two) that give two words from `n_words` LEARNER_MIN_POSSIBILITIES or more."""
    n_digits = LEARNER_MIN_DIGITS
    while n_words**2 * len(DIGITS) ** n_digits < LEARNER_MIN_POSSIBILITIES:
        n_digits += 1
    return n_digits


def learner_possibilities(language: str = "en") -> int:
    """How many different learner passwords a language's list gives (each equally likely)."""
    words = WORDS.get(language, WORDS["en"])
    return len(words) ** 2 * len(DIGITS) ** learner_digits(len(words))


def random_password(*, length: int = RANDOM_DEFAULT_LENGTH, draws: Draws | None = None) -> str:
    """A random mix of upper-case, lower-case and digits with at least one of each."""
    if length < RANDOM_MIN_LENGTH:
        raise ValueError(f"length must be at least {RANDOM_MIN_LENGTH}")
    draws = draws or Draws(8 * 2 * length)
    alphabet = UPPER + LOWER + DIGITS
    chars = [draws.choice(UPPER), draws.choice(LOWER), draws.choice(DIGITS)]
    chars += [draws.choice(alphabet) for _ in range(length - len(chars))]
    # Fisher-Yates with the CSPRNG so the guaranteed classes are not always in front.
    for i in range(len(chars) - 1, 0, -1):
        j = draws.below(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)
