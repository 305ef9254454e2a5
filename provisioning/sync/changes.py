"""What a plan keeps of the accounts it changes, kept small: a September roll-over changes every learner.

A plan's sets of changed accounts (updated, moved here, ...) are Ids: a bit an account. Its changes themselves
are Changes: held in memory up to SPILL_AT of them, and past that (on PostgreSQL, inside the run's transaction)
copied to a temporary table a chunk at a time, of which memory keeps only which accounts it holds (a bit each).
The spilled changes are written from that table, with the same rule as those held: only where nobody changed the
account since the plan read it. A school whose changes are few (an hourly sync) never spills.
"""

from array import array
from collections.abc import Iterable, Iterator, MutableMapping

from provisioning.sync import rows, spill

# a plan holds this many changes in memory before it spills them (and each spill copies at least as many)
SPILL_AT = rows.WRITE_CHUNK
# account ids to a page of an Ids (a page is an eighth as many bytes): ids are a sequence's, so that a school's
# accounts lie in few pages even among those of all Wales
PAGE = 4096


class Ids:
    """A set of account ids (ints) at about a bit each, iterated in ascending order."""

    __slots__ = ("_count", "_pages")

    def __init__(self, ids: Iterable[int] = ()):
        self._pages: dict[int, bytearray] = {}
        self._count = 0
        for account_id in ids:
            self.add(account_id)

    def add(self, account_id: int) -> None:
        page, bit = divmod(account_id, PAGE)
        bits = self._pages.get(page)
        if bits is None:
            bits = self._pages[page] = bytearray(PAGE // 8)
        mask = 1 << (bit & 7)
        if not bits[bit >> 3] & mask:
            bits[bit >> 3] |= mask
            self._count += 1

    def discard(self, account_id: int) -> None:
        page, bit = divmod(account_id, PAGE)
        bits = self._pages.get(page)
        mask = 1 << (bit & 7)
        if bits is not None and bits[bit >> 3] & mask:
            bits[bit >> 3] &= ~mask
            self._count -= 1

    def __contains__(self, account_id) -> bool:
        if not isinstance(account_id, int):
            return False
        page, bit = divmod(account_id, PAGE)
        bits = self._pages.get(page)
        return bits is not None and bool(bits[bit >> 3] & (1 << (bit & 7)))

    def __iter__(self) -> Iterator[int]:
        for page in sorted(self._pages):
            base = page * PAGE
            for n, byte in enumerate(self._pages[page]):
                if byte:
                    for bit in range(8):
                        if byte >> bit & 1:
                            yield base + n * 8 + bit

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __eq__(self, other) -> bool:
        return set(self) == set(other) if isinstance(other, Ids | set | frozenset) else NotImplemented

    __hash__ = None

    def __or__(self, other) -> set[int]:
        return set(self) | set(other)

    __ror__ = __or__

    def __repr__(self) -> str:
        return f"Ids({list(self)!r})"

    def ascending(self) -> array:
        """The ids in ascending order, 8 bytes each (as an audit event's targets are read)."""
        return array("q", self)


class Changes(MutableMapping):
    """A plan's changes: account id -> rows.change_pack. `held` in memory; past SPILL_AT, spilled (spill())."""

    def __init__(self):
        self.held: dict[int, tuple] = {}
        self.spilled = Ids()
        self._table: str | None = None
        self._mask = 0  # every WRITTEN field a spilled change sets

    def get(self, account_id, default=None):
        change = self.held.get(account_id)
        if change is None and account_id in self.spilled:
            change = spill.get(self._table, account_id)
        return default if change is None else change

    def __getitem__(self, account_id) -> tuple:
        change = self.get(account_id)
        if change is None:
            raise KeyError(account_id)
        return change

    def __setitem__(self, account_id: int, change: tuple) -> None:
        if account_id in self.spilled:
            # a later chunk changed it again: the newer change, held, replaces the one spilled
            spill.delete(self._table, account_id)
            self.spilled.discard(account_id)
        self.held[account_id] = change

    def __delitem__(self, account_id) -> None:
        if account_id in self.held:
            del self.held[account_id]
        elif account_id in self.spilled:
            spill.delete(self._table, account_id)
            self.spilled.discard(account_id)
        else:
            raise KeyError(account_id)

    def __contains__(self, account_id) -> bool:
        return account_id in self.held or account_id in self.spilled

    def __iter__(self) -> Iterator[int]:
        yield from self.held
        yield from self.spilled

    def __len__(self) -> int:
        return len(self.held) + len(self.spilled)

    def isdisjoint(self, ids: Iterable[int]) -> bool:
        """Whether none of these accounts has a change here."""
        return not any(account_id in self for account_id in ids)

    def spill(self) -> bool:
        """Copy the held changes to the plan's temporary table (made on the first spill) if there are SPILL_AT
        of them and the database can; whether it did."""
        if len(self.held) < SPILL_AT or not spill.possible():
            return False
        if self._table is None:
            self._table = spill.create()
        spill.copy(self._table, self.held)
        for account_id, change in self.held.items():
            self.spilled.add(account_id)
            self._mask |= change[1]
        self.held = {}
        return True

    def lock_spilled(self) -> set[int]:
        """Lock the accounts of the spilled changes (as rows.accounts_lock does the held ones); those another
        worker changed since they were read."""
        stale = set()
        if self.spilled:
            spill.analyze(self._table)
            for chunk in _chunks(self.spilled, rows.WRITE_CHUNK):
                stale |= spill.lock(self._table, chunk)
        return stale

    def write_spilled(self) -> None:
        """Write the spilled changes (as rows.changes_write does the held ones), rows.WRITE_CHUNK a statement;
        StaleRows if another worker changed one since it was read."""
        if not self.spilled:
            return
        for chunk in _chunks(self.spilled, rows.WRITE_CHUNK):
            spill.write(self._table, chunk, self._mask)


def _chunks(ids: Ids, size: int) -> Iterator[list[int]]:
    chunk = []
    for account_id in ids:
        chunk.append(account_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
