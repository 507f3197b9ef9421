"""Input files as text, and user text in messages: the lowest layer of reading a log, a mapping
file or a CRM/billing export.

``read_text`` decodes a file and, when it cannot, says why in terms the user can act on: which
byte and line, what the file looks like instead (UTF-16, Windows-1252, a zip/Excel workbook,
gzip, binary) and the fix. ``shown`` is how a value from the user appears in a message: control
characters escaped (a value cannot break a message into lines or drive the terminal) and at most
a few dozen characters. ``LogError`` carries every problem of one input file, each rendered on
one safe line.
"""

from __future__ import annotations

import codecs
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path

from revsim.errors import Problem, ProblemsError

SHOW_CHARS = 50
"""At most this many characters of one user value in a message (three values, a column name and
the file name stay near 200 characters)."""

SOURCE_CHARS = 120
PATH_CHARS = 80
MESSAGE_CHARS = 1200


def shown(value: object, limit: int = SHOW_CHARS) -> str:
    """A user value as a message shows it: at most ``limit`` characters (the rest counted) with
    control, format and unpaired surrogate characters escaped (``\\n``, ``\\x00``, ``\\udcff``)."""
    text = str(value)
    extra = len(text) - limit
    if extra > 0:
        text = f"{text[:limit]}...(+{extra} characters)"
    return one_line(text)


def one_line(text: str) -> str:
    """``text`` with the characters that could break a line, a terminal or an encoder escaped."""
    if text.isprintable() and text.isascii():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:  # other separators (no-break spaces...) print as a space does
            out.append(ch)
    return "".join(out)


def _source_text(source: str | None) -> str | None:
    if source is None:
        return None
    text = one_line(source)
    return text if len(text) <= SOURCE_CHARS else "..." + text[-SOURCE_CHARS:]


class LogError(ProblemsError, ValueError):
    """An event log (or a mapping file, or a raw export) failed validation: each problem names
    the file, the column, the rows and the fix, on one line whatever the user's values hold."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        safe = [Problem(shown(p.path, PATH_CHARS), _capped(one_line(p.message)))
                for p in problems]
        super().__init__(safe, _source_text(source))


def _capped(message: str) -> str:
    extra = len(message) - MESSAGE_CHARS
    return message if extra <= 0 else f"{message[:MESSAGE_CHARS]}...(+{extra} characters)"


def unexpected(err: Exception, source: str, doing: str) -> LogError:
    """The error for a log that passed every check and still broke ``doing`` (a fit, the
    backtest's reading of it): the exception in one line, so that the user gets a message naming
    the file instead of a traceback, and revsim a report; the exception is kept as the cause."""
    return LogError([Problem("", f"{doing} failed on this log ({type(err).__name__}: "
                                 f"{shown(err, 150)}); the log passed every check, so this is a "
                                 "revsim bug: please report it with the log")], source)


class InputWarning(UserWarning):
    """An input that revsim read, but that looks odd enough to say so (a UTF-16 file, a log
    with one case): the result is valid, and the warning says what it rests on."""


UTF8 = "utf-8"

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)",
     "open it and save the sheet as CSV UTF-8"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook",
     "open it and save the sheet as CSV UTF-8"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip)"),
    (b"BZh", "bzip2-compressed", "decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first (unxz)"),
    (b"(\xb5/\xfd", "zstd-compressed", "decompress it first (unzstd)"),
    (b"%PDF", "a PDF document", "export the data itself as CSV UTF-8"),
    (b"\x89PNG", "a PNG image", "export the data itself as CSV UTF-8"),
    (b"\xff\xd8\xff", "a JPEG image", "export the data itself as CSV UTF-8"),
    (b"PAR1", "a Parquet file", "convert it: pandas.read_parquet(path).to_csv(out, index=False)"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV UTF-8"),
)


def check_encoding(name: str, option: str = "--encoding") -> list[Problem]:
    """No problem when Python knows the text encoding ``name``; else one naming the option."""
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        return [Problem(option, f'unknown text encoding "{shown(name)}"; use one such as utf-8, '
                                "cp1252, latin-1 or utf-16")]
    if not getattr(info, "_is_text_encoding", True):
        return [Problem(option, f'"{shown(name)}" is not a text encoding; use one such as '
                                "utf-8, cp1252, latin-1 or utf-16")]
    return []


def read_bytes(path: str | Path, label: str) -> bytes:
    """The file's bytes; a missing or unreadable file raises ``LogError`` naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise LogError([Problem("", "file not found; check the path")], label) from None
    except IsADirectoryError:
        raise LogError([Problem("", "is a folder, not a file; give the file inside it")],
                       label) from None
    except PermissionError:
        raise LogError([Problem("", "permission denied; make the file readable")], label) from None
    except OSError as err:
        raise LogError([Problem("", f"cannot read: {shown(err.strerror or err, 80)}")],
                       label) from None


def read_text(path: str | Path, label: str, *, encoding: str | None = None,
              what: str = "CSV UTF-8", option: bool = True) -> str:
    """The file decoded: as ``encoding`` when given, else as UTF-8 (a UTF-8 byte-order mark is
    dropped; a UTF-16/32 one is followed, with an ``InputWarning``). Raises ``LogError`` naming
    the file, the first undecodable byte (offset, line, column) and the fix. ``what`` names the
    format to re-save in; ``option`` says whether an --encoding option can be offered."""
    data = read_bytes(path, label)
    return decode(data, label, encoding=encoding, what=what, option=option)


def decode(data: bytes, label: str, *, encoding: str | None = None, what: str = "CSV UTF-8",
           option: bool = True) -> str:
    """``read_text`` on bytes already read."""
    if encoding is not None and (problems := check_encoding(encoding)):
        raise LogError(problems, label)
    if encoding is None or codecs.lookup(encoding).name == UTF8:
        for bom, name in _BOMS:
            if data.startswith(bom) and not option:
                raise LogError([Problem("", f"this is {name.upper()} text (it starts with its "
                                            f"byte-order mark); save it as {what}")], label)
            if data.startswith(bom):
                warnings.warn(InputWarning(
                    f"{_source_text(label)}: read as {name.upper()} (the file starts with its "
                    f"byte-order mark); revsim expects UTF-8: save it as {what}"), stacklevel=2)
                encoding = name
                break
    if encoding is None or codecs.lookup(encoding).name == UTF8:
        for magic, kind, fix in _SIGNATURES:
            if data.startswith(magic):
                raise LogError([Problem("", f"this is {kind}, not a text file; {fix}")], label)
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        raise LogError([_undecodable(data, err, encoding, what, option)], label) from None
    if "\x00" in text and _mostly_nul(text):
        raise LogError([Problem("", "this looks like UTF-16 text without a byte-order mark (every "
                                    f"other byte is NUL), or a binary file; save it as {what}"
                                    + (" or give --encoding utf-16-le" if option else ""))],
                       label)
    return text


def _mostly_nul(text: str) -> bool:
    head = text[:4096]
    return head.count("\x00") > len(head) // 8


def _undecodable(data: bytes, err: UnicodeDecodeError, encoding: str, what: str,
                 option: bool) -> Problem:
    offset = err.start
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    bad = " ".join(f"0x{b:02x}" for b in data[err.start:max(err.end, err.start + 1)][:4])
    where = f"byte {offset} (line {line}, column {column}) is {bad}"
    name = "UTF-8" if encoding == "utf-8-sig" else encoding
    if _binary(data):
        return Problem("", f"not a text file: {where} and the file holds many control bytes, so "
                           f"it is binary; give a {what} file")
    guess = ""
    if name == "UTF-8":
        excel = ' (what Excel writes as plain "CSV")' if "CSV" in what else ""
        for other, label in (("cp1252", f"Windows-1252{excel}"), ("latin-1", "Latin-1")):
            try:
                data.decode(other)
            except UnicodeDecodeError:
                continue
            guess = f"; it looks like {label}"
            hint = f" or give its encoding (--encoding {other})" if option else ""
            break
        else:
            hint = ""
    else:
        hint = " or give the encoding it was written in (--encoding)" if option else ""
    return Problem("", f"not {name} text: {where}{guess}; save the file as {what}{hint}")


def _binary(data: bytes) -> bool:
    head = data[:4096]
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control > max(len(head) // 20, 2)


def nul_lines(text: str) -> list[int]:
    """Line numbers (from 1) holding a NUL character."""
    return [i for i, line in enumerate(text.split("\n"), start=1) if "\x00" in line]
