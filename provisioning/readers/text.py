"""What every reader shares: a file's text and CSV rows, the values read from them, why a whole file is refused.

Files are streamed: a reader holds a row at a time and what it makes of it, never the file's bytes or text whole.
"""

import codecs
import csv
import functools
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from django.db import models
from django.utils.translation import gettext_lazy as _

_TRUE = {"y", "yes", "true", "1", "ie", "i", "granted", "given"}
_FALSE = {"n", "no", "false", "0", "na", "refused", "withdrawn"}
# a file with more than one NUL byte in this many is not text
NUL_SHARE = 100
# how much of a file is read at a time
READ_BYTES = 256 * 1024
# opens a file's bytes from the start: a reader may read a file more than once (its encoding, then its rows)
Opener = Callable[[], BinaryIO]


class Problem(models.TextChoices):
    """Why a whole file was refused."""

    ENCODING = "encoding", _("The file is not text in UTF-8 or Windows-1252. Export it again from the MIS.")
    NOT_CSV = "not_csv", _("The file could not be read as CSV. Export it again from the MIS.")
    UNKNOWN_HEADERS = (
        "unknown_headers",
        _(
            "The file's headers are not those of a pupil or staff export: it needs Legal Surname, Legal Forename and "
            "either UPN or Staff Code."
        ),
    )
    BAD_ZIP = "bad_zip", _("The zip file is damaged or is not a zip file.")
    ZIP_UNSAFE = "zip_unsafe", _("The zip file holds a path outside the archive, or a link. It was not read.")
    ZIP_TOO_LARGE = "zip_too_large", _("The zip file is too large, or holds too many files. It was not read.")
    ONEROSTER_MISSING = (
        "oneroster_missing",
        _("The OneRoster package lacks manifest.csv, orgs.csv or users.csv."),
    )
    ONEROSTER_VERSION = "oneroster_version", _("The package is not OneRoster 1.1.")
    SCHOOL_NOT_FOUND = "school_not_found", _("The school is not in the package's orgs.csv.")
    UNKNOWN_FORMAT = "unknown_format", _("The file is neither an MIS CSV export nor a OneRoster package.")


class ExtractError(Exception):
    """A file that cannot be read at all."""

    def __init__(self, problem: Problem, detail: str = ""):
        self.problem = problem
        self.detail = detail
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)

    @property
    def message(self):
        return self.problem.label


def opener(source) -> Opener:
    """A way to open a file's bytes from the start, as often as needed: bytes, a path, or an opener already."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return lambda: io.BytesIO(data)
    if isinstance(source, Path):
        return lambda: source.open("rb")
    return source


def sniff_encoding(open_stream: Opener) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252; anything else is refused.

    Read once through in chunks, keeping nothing: a file is refused before any row of it is read.
    """
    utf8 = codecs.getincrementaldecoder("utf-8")()
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    with open_stream() as fh:
        head = _read_exactly(fh, len(codecs.BOM_UTF8))
        if head.startswith(codecs.BOM_UTF8):
            _check_decodes(fh, codecs.getincrementaldecoder("utf-8")(), "utf-8")
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            decoder = codecs.getincrementaldecoder("utf-16")()
            decoder.decode(head)
            _check_decodes(fh, decoder, "utf-16")
            return "utf-16"
        size, nuls, is_utf8, is_cp1252 = 0, 0, True, True
        chunk = head
        while chunk:
            size += len(chunk)
            nuls += chunk.count(b"\x00")
            is_utf8 = is_utf8 and _decodes(utf8, chunk, final=False)
            is_cp1252 = is_cp1252 and _decodes(cp1252, chunk, final=False)
            chunk = fh.read(READ_BYTES)
        is_utf8 = is_utf8 and _decodes(utf8, b"", final=True)
    # UTF-16 without its BOM, or a binary file, is NULs through and through; one stray NUL in an export is a bad
    # row (the rules refuse it), not a bad file
    if nuls * NUL_SHARE > size:
        raise ExtractError(Problem.ENCODING, "NUL bytes")
    if is_utf8:
        return "utf-8"
    # The five bytes Windows-1252 leaves undefined make its strict decode fail: not text.
    if is_cp1252:
        return "cp1252"
    raise ExtractError(Problem.ENCODING, "cp1252")


@functools.lru_cache(maxsize=8192)
def header_key(name: str) -> str:
    """Header names compared ignoring case, spaces and punctuation."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def parse_date(value: str) -> date | None:
    """dd/mm/yyyy (or dd-mm-yyyy, dd.mm.yyyy) or yyyy-mm-dd, optionally followed by a time; blank is None."""
    value = value.strip()
    if not value:
        return None
    return _parse_date(value)


def parse_bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


@functools.lru_cache(maxsize=8192)
def split_list(value: str) -> tuple[str, ...]:
    parts = re.split(r"[;|,]", value)
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


@functools.lru_cache(maxsize=4096)
def parse_year(value: str) -> str:
    """'Year 7', 'Y7', '07' -> '7'; 'R', 'N1' kept."""
    v = value.strip()
    m = re.fullmatch(r"(?i)(?:year|yr|y)?\s*0*(\d{1,2})", v)
    return m.group(1) if m else v


class CsvFile:
    """A CSV file's header, then its (line number, fields) rows as they are iterated: read from the stream as they
    are wanted, one row held at a time, never the whole file.

    Blank rows are skipped. `truncated` (known once every row has been read) says the file looks cut short: its
    last record has fewer fields than the header and no line end, or it ends inside a quoted field.
    """

    def __init__(self, source, encoding: str | None = None):
        open_stream = opener(source)
        self.encoding = encoding or sniff_encoding(open_stream)
        self.truncated = False
        self._rows = self._read(open_stream)
        self.header: list[str] = next(self._rows)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return self._rows

    def _read(self, open_stream: Opener):
        with open_stream() as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            try:
                yield from self._records(text)
            except UnicodeDecodeError as exc:
                raise ExtractError(Problem.ENCODING, self.encoding) from exc
            finally:
                text.detach()

    def _records(self, text):
        first = text.readline()
        delimiter = ","
        if first.count("\t") > first.count(",") and first.count("\t") >= first.count(";"):
            delimiter = "\t"
        elif first.count(";") > first.count(","):
            delimiter = ";"
        last = [first]

        def lines():
            if first:
                yield first
            for line in text:
                last[0] = line
                yield line

        reader = csv.reader(lines(), delimiter=delimiter, strict=True)
        held = None  # the row read last: yielded once the next one shows it was not cut short
        try:
            header = next(reader, None)
            yield header or []
            if header is None:
                return
            for fields in reader:
                if not any(f.strip() for f in fields):
                    continue
                if held is not None:
                    yield held
                held = (reader.line_num, fields)
        except csv.Error as exc:
            if "unexpected end of data" in str(exc) or "EOF" in str(exc):
                self.truncated = True
            else:
                raise ExtractError(Problem.NOT_CSV, str(exc)) from exc
        if held is not None and len(held[1]) < len(header) and not last[0].endswith(("\n", "\r")):
            self.truncated = True
            held = None
        if held is not None:
            yield held


# ---------------------------------------------------------------- helpers


def _read_exactly(fh, n: int) -> bytes:
    data = b""
    while len(data) < n and (more := fh.read(n - len(data))):
        data += more
    return data


def _decodes(decoder, chunk: bytes, *, final: bool) -> bool:
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError:
        return False
    return True


def _check_decodes(fh, decoder, encoding: str) -> None:
    while chunk := fh.read(READ_BYTES):
        if not _decodes(decoder, chunk, final=False):
            raise ExtractError(Problem.ENCODING, encoding)
    if not _decodes(decoder, b"", final=True):
        raise ExtractError(Problem.ENCODING, encoding)


@functools.lru_cache(maxsize=8192)
def _parse_date(value: str) -> date:
    # a school's extract repeats a few hundred distinct dates thousands of times
    value = value.split("T")[0].split(" ")[0]
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date, no zone
        except ValueError:
            continue
    raise ValueError(value)
