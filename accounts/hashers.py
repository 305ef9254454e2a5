"""argon2id at the parameters the portal promises: m=19 MiB, t=2, p=1."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (argon2id) pinned to m=19456 KiB, t=2, p=1."""

    time_cost = 2
    memory_cost = 19456
    parallelism = 1
