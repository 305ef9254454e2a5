"""Usernames from legal names: surname then forename initial (BloggsJ, BloggsJ2, ...), ASCII only.

Allocation is race-safe: a username is claimed by inserting it into IssuedUsername, whose unique
constraint decides between concurrent workers; a claimed name is never issued to anyone else.
"""

import functools
import re
import uuid

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.bulk import rows_copy
from accounts.models import IssuedUsername, UsernameCounter
from accounts.text import without_accents

# Letters that NFKD does not decompose into ASCII.
_SPECIAL = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "Þ": "Th",
        "œ": "oe",
        "Œ": "OE",
        "ı": "i",
    }
)
_NOT_LETTER = re.compile(r"[^A-Za-z]")


def fold(text):
    """ASCII letters only: ŵ->w, ŷ->y, â->a; apostrophes, hyphens, spaces and digits dropped."""
    return _NOT_LETTER.sub("", without_accents(text.translate(_SPECIAL)))


@functools.lru_cache(maxsize=65536)
def username_base(forename, surname):
    """`BloggsJ`, bounded so that a numeric suffix still fits (cached: a country's names repeat a great deal)."""
    limit = settings.UMP_USERNAME_MAX_LENGTH - 4
    surname_part = fold(surname)[: limit - 1] or "User"
    if surname_part.isupper() or surname_part.islower():
        surname_part = surname_part.capitalize()  # JONES or jones from an MIS reads as Jones
    initial = fold(forename)[:1].upper() or "X"
    return surname_part[:1].upper() + surname_part[1:] + initial


def _issued(bases):
    """What is already issued from these bases: (the first number worth trying per base, names to avoid).

    One aggregate query per 5,000 bases. Where a base's numbers run 1..n without a gap (the usual case) the
    next free number is n + 1 and no names are read; only bases with gaps load their names.
    """
    next_free, taken = {}, set()
    bases = sorted({b.lower() for b in bases})
    for i in range(0, len(bases), 5000):
        chunk = bases[i : i + 5000]
        gaps = []
        rows = (
            IssuedUsername.objects.filter(base_lower__in=chunk)
            .values("base_lower")
            .annotate(count=Count("pk"), top=Max("number"))
        )
        for row in rows:
            if row["count"] == row["top"]:
                next_free[row["base_lower"]] = row["top"] + 1
            else:
                gaps.append(row["base_lower"])
        if gaps:
            taken.update(
                IssuedUsername.objects.filter(base_lower__in=gaps).values_list("username_lower", flat=True)
            )
    return next_free, taken


def _name(base, n):
    return base if n == 1 else f"{base}{n}"


def username_allocate(*, forename, surname, account=None):
    """Claim the first free username for these names."""
    base = username_base(forename, surname)
    next_free, taken = _issued([base])
    n = next_free.get(base.lower(), 1)
    while True:
        candidate = _name(base, n)
        n += 1
        if candidate.lower() in taken:
            continue
        try:
            with transaction.atomic():
                IssuedUsername.objects.create(
                    username_lower=candidate.lower(), base_lower=base.lower(), number=n - 1, account=account
                )
        except IntegrityError:
            taken.add(candidate.lower())
            continue
        return candidate


def _claim(proposals, account_ids, *, reserved=False):
    """Insert the proposed claims in key order; return the keys this call won (a concurrent run may hold some).

    Key order makes concurrent runs take the unique-index locks in the same order, so that one statement never
    deadlocks another; runs that claim again later in their transaction still can, and the sync retries them.
    With `reserved` (every proposal a number reserved for this run) the claims are first tried as one COPY, which
    costs less than an insert that checks each row for a conflict; should one conflict after all (a name issued
    without a reservation meanwhile), the COPY is undone and the claims are inserted as usual.
    """
    ordered = sorted(proposals.items())
    if connection.vendor == "postgresql" and reserved and account_ids:
        now = timezone.now()
        try:
            with transaction.atomic():
                rows_copy(
                    IssuedUsername,
                    ["username_lower", "base_lower", "number", "account", "issued_at"],
                    ((key, p[3], p[2], account_ids[p[0]], now) for key, p in ordered),
                )
        except IntegrityError:
            pass
        else:
            return set(proposals)
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(IssuedUsername._meta.db_table)
        with connection.cursor() as cursor:
            # Usernames are ASCII letters and digits (see fold), so each column goes as one comma-joined text
            # parameter: adapting four arrays of thousands of values element by element costs more than the insert.
            ids = ",".join(str(account_ids[p[0]]) for _key, p in ordered) if account_ids else None
            cursor.execute(
                # the table name comes from the model; every value is a parameter
                f"INSERT INTO {table} (username_lower, base_lower, number, account_id, issued_at) "  # noqa: S608
                "SELECT u, b, n, a, now() FROM unnest(string_to_array(%s, ','), string_to_array(%s, ','), "
                "string_to_array(%s, ',')::int[], COALESCE(string_to_array(%s, ',')::bigint[], "
                "array_fill(NULL::bigint, ARRAY[%s]))) AS v(u, b, n, a) "
                "ON CONFLICT (username_lower) DO NOTHING RETURNING username_lower",
                [
                    ",".join(key for key, _p in ordered),
                    ",".join(p[3] for _key, p in ordered),
                    ",".join(str(p[2]) for _key, p in ordered),
                    ids,
                    len(ordered),
                ],
            )
            return {row[0] for row in cursor.fetchall()}
    claim = uuid.uuid4()
    IssuedUsername.objects.bulk_create(
        [
            IssuedUsername(
                username_lower=key,
                base_lower=base_lower,
                number=number,
                claim=claim,
                account_id=account_ids[i] if account_ids else None,
            )
            for key, (i, _candidate, number, base_lower) in ordered
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    mine = set()
    keys = list(proposals)
    for j in range(0, len(keys), 5000):
        mine.update(
            IssuedUsername.objects.filter(username_lower__in=keys[j : j + 5000], claim=claim).values_list(
                "username_lower", flat=True
            )
        )
    return mine


class Reserved:
    """A base's reserved numbers, taken from the front: a range, so that a school's million cost a few bytes."""

    __slots__ = ("start", "stop")

    def __init__(self, start: int, stop: int):
        self.start, self.stop = start, stop

    def popleft(self) -> int:
        if self.start >= self.stop:
            raise IndexError("no reserved number left")
        self.start += 1
        return self.start - 1

    def copy(self) -> "Reserved":
        return Reserved(self.start, self.stop)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self):
        return iter(range(self.start, self.stop))


def usernames_reserve(counts):
    """Reserve numbers for names to be claimed later: {base: how many} -> {base lowered: [numbers]}.

    On PostgreSQL the reservation commits at once when called outside a transaction (numbers then behave as a
    sequence's do: never handed out twice, a gap when not used); elsewhere, or inside a transaction, it reserves
    nothing and the claim numbers as usual. Each base continues after both its last reservation and the highest
    number issued from it, so names issued without a reservation are never reserved again.
    """
    wanted = {}
    for base, n in counts.items():
        if n > 0:
            wanted[base.lower()] = wanted.get(base.lower(), 0) + n
    if not wanted or connection.vendor != "postgresql" or connection.in_atomic_block:
        return {}
    counters = connection.ops.quote_name(UsernameCounter._meta.db_table)
    issued = connection.ops.quote_name(IssuedUsername._meta.db_table)
    keys = sorted(wanted)
    with transaction.atomic(), connection.cursor() as cursor:
        # in key order, so that two workers reserving overlapping bases queue rather than deadlock
        cursor.execute(
            # table names come from the models; every value is a parameter
            f"INSERT INTO {counters} AS c (base_lower, top, reserved) "  # noqa: S608
            f"SELECT v.b, COALESCE((SELECT max(i.number) FROM {issued} i WHERE i.base_lower = v.b), 0) + v.k, v.k "
            "FROM unnest(%s::text[], %s::int[]) AS v(b, k) ORDER BY v.b "
            "ON CONFLICT (base_lower) DO UPDATE "
            "SET top = GREATEST(c.top + excluded.reserved, excluded.top), reserved = excluded.reserved "
            "RETURNING base_lower, top, reserved",
            [keys, [wanted[k] for k in keys]],
        )
        return {base: Reserved(top - n + 1, top + 1) for base, top, n in cursor.fetchall()}


def usernames_allocate_bulk(pairs, *, account_ids=None, reserved=None):
    """Claim usernames for many (forename, surname) pairs at once, in input order; set-based.

    With `account_ids` (reserved primary keys, one per pair) each claim points at its account from the start.
    With `reserved` (from usernames_reserve; consumed) a pair takes its base's next reserved number first; the
    rest are numbered after what each base has issued.
    """
    bases = [username_base(f, s) for f, s in pairs]
    first = {}
    if reserved:
        for i, base in enumerate(bases):
            numbers = reserved.get(base.lower())
            if numbers:  # Reserved, shared with later calls of the same run
                first[i] = numbers.popleft()
    next_n, taken, known = {}, set(), set()
    result = [None] * len(pairs)
    pending = list(range(len(pairs)))
    while pending:
        unknown = {bases[i].lower() for i in pending if i not in first} - known
        if unknown:
            more_next, more_taken = _issued(unknown)
            next_n.update(more_next)
            taken |= more_taken
            known |= unknown
        proposals = {}
        numbered = []
        for i in pending:
            if i in first:  # reserved for this run: no other claim can want it
                number = first.pop(i)
                candidate = _name(bases[i], number)
                proposals[candidate.lower()] = (i, candidate, number, bases[i].lower())
            else:
                numbered.append(i)
        for i in numbered:
            base = bases[i]
            lower = base.lower()
            n = next_n.get(lower, 1)
            while True:
                candidate = _name(base, n)
                n += 1
                key = candidate.lower()
                if key not in taken and key not in proposals:
                    break
            next_n[lower] = n
            proposals[key] = (i, candidate, n - 1, lower)
        mine = _claim(proposals, account_ids, reserved=not numbered)
        pending = []
        for key, (i, candidate, _number, _lower) in proposals.items():
            if key in mine:
                result[i] = candidate
            else:
                # A concurrent run claimed it first: try the next number.
                taken.add(key)
                pending.append(i)
    return result


def usernames_bind(accounts):
    """Point each IssuedUsername at the account that now holds it (after the accounts are saved)."""
    by_name = {a.username.lower(): a.pk for a in accounts}
    rows = list(IssuedUsername.objects.filter(username_lower__in=list(by_name)))
    for row in rows:
        row.account_id = by_name[row.username_lower]
    IssuedUsername.objects.bulk_update(rows, ["account"], batch_size=2000)
