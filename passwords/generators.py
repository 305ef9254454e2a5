"""Password generators: pure functions over `secrets`, no Django models.

Both styles avoid characters that are easily misread on a printed slip: 0/O/o, 1/l/I.
A generated password still goes through the policy (passwords.services retries on the rare draw the
blocklist or the personal-information rule refuses), so the generators only guarantee the shape.
"""

import secrets
import string

from passwords.words import WORDS

LOOK_ALIKES = frozenset("0Oo1lI")
UPPER = "".join(c for c in string.ascii_uppercase if c not in LOOK_ALIKES)
LOWER = "".join(c for c in string.ascii_lowercase if c not in LOOK_ALIKES)
DIGITS = "".join(c for c in string.digits if c not in LOOK_ALIKES)

MIN_LENGTH = 8  # the Hwb policy
RANDOM_DEFAULT_LENGTH = 12
RANDOM_MIN_LENGTH = 10
LEARNER_MIN_DIGITS = 2


def learner_password(*, language: str = "en") -> str:
    """A capitalised familiar word then digits, e.g. `Otter472`: at least 8 characters and 2 digits.

    Short words get more digits so that every result meets the 8-character policy.
    """
    words = WORDS.get((language or "en")[:2], WORDS["en"])
    word = secrets.choice(words)
    n_digits = max(LEARNER_MIN_DIGITS, MIN_LENGTH - len(word))
    # one draw for all the digits (uniform over every string of n_digits): the country's first provisioning
    # makes half a million of these, and each draw from the operating system costs a system call
    draw, base, digits = secrets.randbelow(len(DIGITS) ** n_digits), len(DIGITS), []
    for _ in range(n_digits):
        draw, d = divmod(draw, base)
        digits.append(DIGITS[d])
    return word.capitalize() + "".join(digits)


def random_password(*, length: int = RANDOM_DEFAULT_LENGTH) -> str:
    """A random mix of upper-case, lower-case and digits with at least one of each."""
    if length < RANDOM_MIN_LENGTH:
        raise ValueError(f"length must be at least {RANDOM_MIN_LENGTH}")
    alphabet = UPPER + LOWER + DIGITS
    chars = [secrets.choice(UPPER), secrets.choice(LOWER), secrets.choice(DIGITS)]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    # Fisher-Yates with the CSPRNG so the guaranteed classes are not always in front.
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)
