"""Readers: turn an MIS CSV export or a OneRoster 1.1 CSV package into an Extract.

A reader never writes anything. A row it cannot read becomes a Refusal; a file it cannot read raises
ExtractError with a code and a message, so that nothing is applied from it. `text` holds what every reader
shares, `mis` reads an MIS export and `oneroster` a OneRoster package.
"""

from pathlib import Path

from provisioning.readers.mis import read_mis_csv
from provisioning.readers.oneroster import (
    ONEROSTER_FILES,
    parse_user_ids,
    read_folder_members,
    read_oneroster,
    read_zip_members,
    zip_members,
)
from provisioning.readers.text import ExtractError, Opener, Problem, header_key, opener, parse_date
from provisioning.records import Extract

__all__ = [
    "ONEROSTER_FILES",
    "ExtractError",
    "Opener",
    "Problem",
    "header_key",
    "parse_date",
    "parse_user_ids",
    "read_extract",
    "read_mis_csv",
    "read_oneroster",
    "read_zip_members",
    "zip_members",
]


def read_extract(source: bytes | Path | Opener, *, fmt: str = "auto", school_code: str = "") -> Extract:
    """Read a file in the given or detected format: its bytes, its path (a OneRoster folder too), or an opener of a
    seekable stream of its bytes (a sealed extract: accounts.sealing.sealed_file_open). A file is streamed, never
    held whole."""
    if isinstance(source, Path) and source.is_dir():
        if fmt not in ("auto", "oneroster"):
            raise ExtractError(Problem.UNKNOWN_FORMAT, "folder")
        return read_oneroster(read_folder_members(source), school_code=school_code)
    open_stream = opener(source)
    with open_stream() as fh:
        head = fh.read(4)
    is_zip = head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06"
    if fmt == "oneroster" or (fmt == "auto" and is_zip):
        with zip_members(open_stream) as members:
            return read_oneroster(members, school_code=school_code)
    if fmt in ("auto", "mis-csv"):
        return read_mis_csv(open_stream)
    raise ExtractError(Problem.UNKNOWN_FORMAT, fmt)
