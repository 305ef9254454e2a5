"""What every reader shares: a file's text and CSV rows, the values read from them, why a whole file is refused."""

import codecs
import csv
import functools
import io
import re
from datetime import date, datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

_TRUE = {"y", "yes", "true", "1", "ie", "i", "granted", "given"}
_FALSE = {"n", "no", "false", "0", "na", "refused", "withdrawn"}
# a file with more than one NUL byte in this many is not text
NUL_SHARE = 100


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


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252; anything else is refused."""
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[len(codecs.BOM_UTF8) :], "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16")
    # UTF-16 without its BOM, or a binary file, is NULs through and through; one stray NUL in an export is a bad
    # row (the rules refuse it), not a bad file
    if data.count(b"\x00") * NUL_SHARE > len(data):
        raise ExtractError(Problem.ENCODING, "NUL bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # The five bytes Windows-1252 leaves undefined make this strict decode fail: not text.
        return _decode(data, "cp1252")


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


def read_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]], bool]:
    """Header, (line number, fields) rows, and whether the file looks cut short.

    Cut short: the last record has fewer fields than the header, or ends inside a quoted field.
    """
    sample = text[:4096]
    delimiter = ","
    first = sample.split("\n", 1)[0]
    if first.count("\t") > first.count(",") and first.count("\t") >= first.count(";"):
        delimiter = "\t"
    elif first.count(";") > first.count(","):
        delimiter = ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    truncated = False
    try:
        header = next(reader, None)
        if header is None:
            return [], [], False
        rows: list[tuple[int, list[str]]] = []
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            rows.append((reader.line_num, fields))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc) or "EOF" in str(exc):
            truncated = True
        else:
            raise ExtractError(Problem.NOT_CSV, str(exc)) from exc
    if rows and len(rows[-1][1]) < len(header) and not text.endswith(("\n", "\r")):
        truncated = True
        rows.pop()
    return header, rows, truncated


# ---------------------------------------------------------------- helpers


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ExtractError(Problem.ENCODING, encoding) from exc


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
