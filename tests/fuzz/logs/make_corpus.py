"""Write the corpus of bad inputs for ``revsim fit`` and ``revsim backtest``, and its manifest.

Run ``python tests/fuzz/logs/make_corpus.py`` after editing a case here: it rewrites every input
file of this folder and ``cases.toml``, which tests/test_fuzz_logs.py runs. Each case is one
command line: ``{here}`` is this folder, ``{out}`` a fresh output folder and ``{scenario}`` a
shipped scenario. A case exits 2 (an error naming the file) unless it is marked ``odd``: an
input that is strange but meaningful, read with a warning (or a count of what was left out), so
exit 0. The inputs are made here, byte by byte (nothing is downloaded): encodings and binary
files, broken CSV structure, impossible values and dates, degenerate logs, mapping files, and the
five CRM/billing formats.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
CASES: list[dict[str, object]] = []
FILES: dict[str, bytes] = {}


def add(name: str, files: dict[str, bytes], args: list[str], expect: list[str], *,
        exit: int = 2, odd: str | None = None, subprocess: bool = False) -> None:
    assert name not in {c["name"] for c in CASES}, name
    for file, content in files.items():
        assert FILES.get(file, content) == content, f"{file} written twice with other content"
        FILES[file] = content
    case: dict[str, object] = {"name": name, "files": list(files), "args": args,
                               "exit": exit, "expect": expect}
    if odd is not None:
        case["odd"] = odd
    if subprocess:
        case["subprocess"] = True
    CASES.append(case)


def fit(log: str, *options: str) -> list[str]:
    return ["fit", f"{{here}}/{log}", *options, "-o", "{out}/fitted.toml"]


def backtest(log: str, *options: str) -> list[str]:
    return ["backtest", "{scenario}", f"{{here}}/{log}", *options, "-o", "{out}/backtest.csv",
            "-n", "2", "-j", "1"]


def csv_bytes(header: str, rows: list[str], *, end: str = "\n", encoding: str = "utf-8") -> bytes:
    return (end.join([header, *rows]) + end).encode(encoding)


# -- a small valid canonical log, the base of most mutations ---------------------------------

HEADER = "case_id,activity,timestamp,amount,resource"


def good_rows(n: int = 8) -> list[str]:
    rows = []
    for i in range(n):
        day = 2 + 3 * i
        outcome = "closed_won" if i % 3 else "closed_lost"
        rows += [f"O{i},opportunity_created,2024-01-{day:02d}T09:00:00Z,{1000 + 250 * i},ae-{i % 2}",
                 f"O{i},stage:demo,2024-01-{day + 1:02d}T10:30:00Z,{1000 + 250 * i},ae-{i % 2}",
                 f"O{i},{outcome},2024-02-{day:02d}T15:00:00Z,{1000 + 250 * i},ae-{i % 2}"]
    return rows


GOOD = csv_bytes(HEADER, good_rows())


def mutate(row: int, text: str, rows: list[str] | None = None) -> list[str]:
    """The good rows with row ``row`` (spreadsheet numbering: the first data row is 2) replaced."""
    out = list(rows or good_rows())
    out[row - 2] = text
    return out


def encodings() -> None:
    latin = good_rows()
    latin[1] = "O0,stage:démo,2024-01-03T10:30:00Z,1000,ae-0"
    add("enc_latin1_label", {"enc_latin1_label.csv": csv_bytes(HEADER, latin, encoding="latin-1")},
        fit("enc_latin1_label.csv"), ["not UTF-8 text", "line 3", "--encoding cp1252"],
        subprocess=True)
    quotes = good_rows()
    quotes[4] = "O1,stage:demo,2024-01-06T10:30:00Z,1250,\u201cae-1\u201d"
    add("enc_cp1252_quotes", {"enc_cp1252_quotes.csv": csv_bytes(HEADER, quotes,
                                                                 encoding="cp1252")},
        fit("enc_cp1252_quotes.csv"), ["Windows-1252", "line 6"])
    late = good_rows(20)
    late[-3] = late[-3].replace("ae-", "\u00e6-")
    add("enc_latin1_late_line", {"enc_latin1_late_line.csv": csv_bytes(HEADER, late,
                                                                       encoding="latin-1")},
        fit("enc_latin1_late_line.csv"), ["line 59", "byte "])
    add("enc_latin1_fixed_by_option",
        {"enc_latin1_label.csv": csv_bytes(HEADER, latin, encoding="latin-1")},
        fit("enc_latin1_label.csv", "--encoding", "latin-1"), ["wrote the fitted scenario"],
        exit=0, odd="a Latin-1 file read with the --encoding it was written in")
    add("enc_utf16_bom", {"enc_utf16_bom.csv": GOOD.decode().encode("utf-16")},
        fit("enc_utf16_bom.csv"), ["warning:", "read as UTF-16"], exit=0,
        odd="UTF-16 with its byte-order mark is unambiguous: read, with a warning",
        subprocess=True)
    add("enc_utf32_bom", {"enc_utf32_bom.csv": GOOD.decode().encode("utf-32")},
        fit("enc_utf32_bom.csv"), ["warning:", "read as UTF-32"], exit=0,
        odd="UTF-32 with its byte-order mark: read, with a warning")
    add("enc_utf16le_no_bom", {"enc_utf16le_no_bom.csv": GOOD.decode().encode("utf-16-le")},
        fit("enc_utf16le_no_bom.csv"), ["UTF-16", "--encoding utf-16-le"])
    add("enc_utf16be_no_bom", {"enc_utf16be_no_bom.csv": GOOD.decode().encode("utf-16-be")},
        fit("enc_utf16be_no_bom.csv"), ["UTF-16"])
    add("enc_utf16_read_as_utf8_option", {"enc_utf16le_no_bom.csv":
                                          GOOD.decode().encode("utf-16-le")},
        fit("enc_utf16le_no_bom.csv", "--encoding", "utf-8"), ["UTF-16"])
    add("enc_truncated_multibyte", {"enc_truncated_multibyte.csv": GOOD + b"O9,caf\xc3"},
        fit("enc_truncated_multibyte.csv"), ["not UTF-8 text", "line 26"])
    add("enc_encoded_surrogate", {"enc_encoded_surrogate.csv":
                                  GOOD.replace(b"stage:demo", b"stage:d\xed\xa0\x80mo", 1)},
        fit("enc_encoded_surrogate.csv"), ["not UTF-8 text", "0xed", "line 3"])
    add("enc_overlong_slash", {"enc_overlong_slash.csv": GOOD.replace(b"ae-0", b"ae\xc0\xaf0", 1)},
        fit("enc_overlong_slash.csv"), ["not UTF-8 text", "0xc0"])
    add("enc_unknown_encoding_option", {"canonical_good.csv": GOOD},
        fit("canonical_good.csv", "--encoding", "klingon-8"), ["unknown text encoding"])
    add("enc_binary_codec_option", {"canonical_good.csv": GOOD},
        fit("canonical_good.csv", "--encoding", "zlib_codec"), ["not a text encoding"])
    add("enc_utf8_read_as_utf16_option", {"canonical_good.csv": GOOD},
        fit("canonical_good.csv", "--encoding", "utf-16"), ["canonical_good.csv"])
    rng = random.Random(18)
    blobs = {
        "bin_random.csv": (bytes(rng.randrange(256) for _ in range(2048)), "binary"),
        "bin_gzip.csv": (gzip.compress(GOOD, mtime=0), "gzip"),
        "bin_xlsx.csv": (b"PK\x03\x04\x14\x00\x06\x00" + bytes(rng.randrange(256)
                                                             for _ in range(300)), "Excel"),
        "bin_xls.csv": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "xls"),
        "bin_pdf.csv": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        "bin_png.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40), "PNG"),
        "bin_jpeg.csv": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40), "JPEG"),
        "bin_sqlite.csv": (b"SQLite format 3\x00" + bytes(100), "SQLite"),
        "bin_parquet.csv": (b"PAR1" + bytes(rng.randrange(256) for _ in range(100)), "Parquet"),
        "bin_bzip2.csv": (b"BZh91AY&SY" + bytes(rng.randrange(256) for _ in range(60)), "bzip2"),
        "bin_nul_only.csv": (bytes(1000), "binary"),
        "bin_elf.csv": (b"\x7fELF\x02\x01\x01\x00" + bytes(rng.randrange(256)
                                                         for _ in range(400)), "binary"),
    }
    for file, (content, word) in blobs.items():
        add(file.removesuffix(".csv"), {file: content}, fit(file), [word],
            subprocess=file == "bin_random.csv")


def nul_and_control() -> None:
    add("nul_in_activity", {"nul_in_activity.csv":
                            csv_bytes(HEADER, mutate(3, "O0,stage:de\x00mo,2024-01-03T10:30:00Z,"
                                                        "1000,ae-0"))},
        fit("nul_in_activity.csv"), ["activity: row 3", "NUL character"], subprocess=True)
    add("nul_in_header", {"nul_in_header.csv": csv_bytes("case_id,activ\x00ity,timestamp",
                                                         ["O1,mql,2024-01-01"])},
        fit("nul_in_header.csv"), ["header: row 1", "NUL"])
    add("nul_in_case_id", {"nul_in_case_id.csv":
                           csv_bytes(HEADER, mutate(5, "O1\x00,opportunity_created,"
                                                       "2024-01-05T09:00:00Z,1250,ae-1"))},
        fit("nul_in_case_id.csv"), ["case_id: row 5", "NUL"])
    add("nul_in_attribute", {"nul_in_attribute.csv":
                             csv_bytes(HEADER + ",note",
                                       [r + (",ok\x00\x00" if i % 4 == 0 else ",fine")
                                        for i, r in enumerate(good_rows())])},
        fit("nul_in_attribute.csv"), ["note: rows 2, 6, 10, 14, 18 (+1 more)", "NUL"])
    add("nul_in_mapped_export", {"nul_maven.csv": csv_bytes(MAVEN_HEADER, [
        *maven_rows(), "ZZ1,Ana\x00,GTX,Acme,Won,01-03-17,05-04-17,100"])},
        fit("nul_maven.csv", "--format", "maven"), ["sales_agent: row 14", "NUL"])
    add("ctrl_escape_in_label", {"ctrl_escape_in_label.csv":
                                 csv_bytes(HEADER, mutate(3, "O0,\x1b[31mstage\x1b[0m,"
                                                             "2024-01-03T10:30:00Z,1000,ae-0"))},
        fit("ctrl_escape_in_label.csv"), ["not a canonical activity", "\\x1b[31m"])
    add("ctrl_bidi_override", {"ctrl_bidi_override.csv":
                               csv_bytes(HEADER, mutate(3, "O0,\u202estage:demo,"
                                                           "2024-01-03T10:30:00Z,1000,ae-0"))},
        fit("ctrl_bidi_override.csv"), ["not a canonical activity", "\\u202e"])
    add("ctrl_char_in_time", {"ctrl_char_in_time.csv":
                                csv_bytes(HEADER, mutate(4, "O0,closed_lost,2024-02-02\x01,1,a"))},
        fit("ctrl_char_in_time.csv"), ["timestamp: row 4", "unparseable time"])


def structure() -> None:
    add("shape_empty", {"shape_empty.csv": b""}, fit("shape_empty.csv"), ["the file is empty"])
    add("shape_whitespace_only", {"shape_whitespace_only.csv": b"   \n\t\n  \n"},
        fit("shape_whitespace_only.csv"), ["the file is empty"])
    add("shape_bom_only", {"shape_bom_only.csv": b"\xef\xbb\xbf"}, fit("shape_bom_only.csv"),
        ["the file is empty"])
    add("shape_header_only", {"shape_header_only.csv": b"case_id,activity,timestamp\n"},
        fit("shape_header_only.csv"), ["no events in the file"])
    add("shape_header_no_newline", {"shape_header_no_newline.csv": b"case_id,activity,timestamp"},
        fit("shape_header_no_newline.csv"), ["no events in the file"])
    add("shape_header_and_blank_lines", {"shape_header_blank.csv":
                                         b"case_id,activity,timestamp\n\n\n,,\n"},
        fit("shape_header_blank.csv"), ["no events in the file", "rows skipped (blank line)"])
    add("shape_duplicate_column", {"shape_duplicate_column.csv":
                                   csv_bytes(HEADER + ",activity",
                                             [r + ",x" for r in good_rows()])},
        fit("shape_duplicate_column.csv"), ["activity: column name appears 2 times",
                                            "columns 2, 6"])
    add("shape_duplicate_after_trim", {"shape_duplicate_trim.csv":
                                       csv_bytes("case_id,activity,timestamp, timestamp ",
                                                 [r.rsplit(",", 2)[0] + ",2024-01-01"
                                                  for r in good_rows()])},
        fit("shape_duplicate_trim.csv"), ["timestamp: column name appears 2 times"])
    add("shape_column_three_times", {"shape_column_three_times.csv":
                                     csv_bytes("case_id,case_id,activity,case_id,timestamp",
                                               ["O1,O1,mql,O1,2024-01-01"])},
        fit("shape_column_three_times.csv"), ["case_id: column name appears 3 times"])
    add("shape_missing_columns", {"shape_missing_columns.csv":
                                  csv_bytes("id,event,when", ["O1,mql,2024-01-01"])},
        fit("shape_missing_columns.csv"), ["missing required columns case_id, activity, "
                                           "timestamp"])
    wide = ",".join(f"col{i}" for i in range(2000))
    add("shape_two_thousand_columns", {"shape_wide.csv": csv_bytes(wide, [",".join("x" * 2000)])},
        fit("shape_wide.csv"), ["col0, col1, col2", "more)"])
    add("shape_huge_column_name", {"shape_huge_column_name.csv":
                                   csv_bytes("case_" + "x" * 5000 + ",activity,timestamp",
                                             ["O1,mql,2024-01-01"])},
        fit("shape_huge_column_name.csv"), ["missing required column case_id", "characters)"])
    add("shape_toml_given_as_log", {"shape_toml_as_log.csv": b'[scenario]\nname = "x"\n'},
        fit("shape_toml_as_log.csv"), ["missing required columns"])
    add("shape_json_given_as_log", {"shape_json_as_log.csv":
                                    json.dumps([{"case_id": "O1", "activity": "mql"}]).encode()},
        fit("shape_json_as_log.csv"), ["shape_json_as_log.csv"])
    add("shape_row_too_wide", {"shape_row_too_wide.csv":
                               csv_bytes(HEADER, mutate(6, "O1,stage:demo,2024-01-06T10:30:00Z,"
                                                           "1250,ae-1,surplus,more"))},
        fit("shape_row_too_wide.csv"), ["row 6: more values than the 5 columns"])
    add("shape_every_row_too_wide", {"shape_all_wide.csv":
                                     csv_bytes("case_id,activity,timestamp",
                                               ["O1,mql,2024-01-01,x", "O2,mql,2024-01-02,y"])},
        fit("shape_all_wide.csv"), ["rows 2, 3: more values than the 3 columns"])
    add("shape_unclosed_quote", {"shape_unclosed_quote.csv":
                                 csv_bytes(HEADER, mutate(9, 'O2,"stage:demo,2024-01-09T10:30:00Z,'
                                                             "1500,ae-0"))},
        fit("shape_unclosed_quote.csv"), ["quoted value opened on line 9 is never closed"])
    add("shape_semicolons_ragged", {"shape_semicolons.csv":
                                    csv_bytes("case_id;activity;timestamp",
                                              ["O1;mql;2024-01-01", "O1;sql;2024-01-02;x"])},
        fit("shape_semicolons.csv"), ["row 3: more values", "semicolons"])
    add("shape_cr_line_ends", {"shape_cr_line_ends.csv": GOOD.replace(b"\n", b"\r")},
        fit("shape_cr_line_ends.csv"), ["wrote the fitted scenario"], exit=0,
        odd="old Mac line ends (a carriage return alone) are line ends")
    add("shape_huge_header_cell", {"shape_huge_header_cell.csv": csv_bytes(
        "case_id,activity,timestamp," + "h" * 200_000, ["O1,mql,2024-01-01,x"])},
        fit("shape_huge_header_cell.csv"), ["shape_huge_header_cell.csv"])
    add("nul_in_huge_field", {"nul_in_huge_field.csv": csv_bytes(
        "case_id,activity,timestamp", ["O1,mql,2024-01-01", "O1," + "n" * 200_000 + "\x00,2024-01-02"])},
        fit("nul_in_huge_field.csv"), ["NUL character", "line 3"])
    add("shape_folder_as_log", {}, ["fit", "{here}", "-o", "{out}/fitted.toml"],
        ["is a directory"])
    add("shape_missing_file", {}, fit("no_such_log.csv"), ["no_such_log.csv", "file not found"])
    add("shape_huge_label", {"shape_huge_label.csv":
                             csv_bytes(HEADER, mutate(3, "O0,stage-" + "y" * 10000 +
                                                         ",2024-01-03T10:30:00Z,1000,ae-0"))},
        fit("shape_huge_label.csv"), ["not a canonical activity", "(+9956 characters)"])
    many = [f"C{i},Demo Call {i % 7},2024-01-01T00:00:00Z" for i in range(3000)]
    add("shape_three_thousand_bad_rows", {"shape_many_bad_rows.csv":
                                          csv_bytes("case_id,activity,timestamp", many)},
        fit("shape_many_bad_rows.csv"), ['"Demo Call 0"', "(+424 more)"])


def values() -> None:
    cases = {
        "value_blank_case_id": (mutate(4, ",closed_lost,2024-02-02T15:00:00Z,1000,ae-0"),
                                ["case_id: row 4: blank case_id"]),
        "value_blank_activity": (mutate(4, "O0,,2024-02-02T15:00:00Z,1000,ae-0"),
                                 ["activity: row 4: blank activity"]),
        "value_blank_timestamp": (mutate(4, "O0,closed_lost,,1000,ae-0"),
                                  ["timestamp: row 4: blank timestamp"]),
        "value_unknown_activity": (mutate(3, "O0,Demo Call,2024-01-03T10:30:00Z,1000,ae-0"),
                                   ['not a canonical activity: "Demo Call"']),
        "value_blank_stage_name": (mutate(3, "O0,stage: ,2024-01-03T10:30:00Z,1000,ae-0"),
                                   ['not a canonical activity: "stage:"']),
        "value_unparseable_time": (mutate(3, "O0,stage:demo,03/01/2024 10:30,1000,ae-0"),
                                   ['row 3: a date that is not ISO 8601: "03/01/2024 10:30"',
                                    "pass --date-format day-first or month-first"]),
        "value_unix_seconds_as_time": (mutate(3, "O0,stage:demo,1704277800,1000,ae-0"),
                                       ["timestamp: row 3"]),
        "value_amount_inf": (mutate(3, "O0,stage:demo,2024-01-03T10:30:00Z,inf,ae-0"),
                             ['amount: row 3: amount is not a finite number "inf"']),
        "value_amount_overflow": (mutate(3, "O0,stage:demo,2024-01-03T10:30:00Z,1e400,ae-0"),
                                  ['amount is not a number "1e400"']),
        "value_amount_minus_inf": (mutate(3, "O0,stage:demo,2024-01-03T10:30:00Z,-Infinity,a"),
                                   ["amount is not a finite number"]),
        "value_amount_nan": (mutate(3, "O0,stage:demo,2024-01-03T10:30:00Z,NaN,ae-0"),
                             ['amount is not a number "NaN"']),
        "value_amount_currency": (mutate(3, "O0,stage:demo,2024-01-03T10:30:00Z,$1000,ae-0"),
                                  ['amount is not a number "$1000"']),
        "value_out_of_order": (mutate(3, "O0,stage:demo,2024-01-01T10:30:00Z,1000,ae-0"),
                               ["event earlier than the previous event"]),
        "value_duplicate_event": (mutate(3, "O0,opportunity_created,2024-01-02T09:00:00Z,1000,x"),
                                  ["duplicate event"]),
        "value_two_terminals": (mutate(3, "O0,closed_won,2024-01-03T10:30:00Z,1000,ae-0"),
                                ["more than once"]),
    }
    for name, (rows, expect) in cases.items():
        add(name, {f"{name}.csv": csv_bytes(HEADER, rows)}, fit(f"{name}.csv"), expect)
    typed = "case_id,activity,timestamp,object_type"
    add("value_unknown_object_type", {"value_unknown_object_type.csv":
                                      csv_bytes(typed, ["O1,opportunity_created,2024-01-01,opp"])},
        fit("value_unknown_object_type.csv"), ['unknown object_type "opp"'])
    add("value_object_type_other_side", {"value_object_type_other_side.csv":
                                         csv_bytes(typed, ["I1,invoice_issued,2024-01-01,lead",
                                                           "I1,invoice_paid,2024-01-09,invoice"])},
        fit("value_object_type_other_side.csv"), ["object_type: row 2", "other side"])
    add("value_stage_marked_invoice", {"value_stage_marked_invoice.csv":
                                       csv_bytes(typed, ["O1,stage:demo,2024-01-01,invoice"])},
        fit("value_stage_marked_invoice.csv"), ["object_type: row 2", "other side"])
    add("value_mixed_offsets", {"value_mixed_offsets.csv":
                                csv_bytes(HEADER, mutate(3, "O0,stage:demo,2024-01-03T10:30:00,"
                                                            "1000,ae-0"))},
        fit("value_mixed_offsets.csv"), ["row 3: time without a UTC offset"])
    add("value_all_problems_at_once", {"value_all_problems.csv": csv_bytes(HEADER, [
        ",opportunity_created,2024-01-02T09:00:00Z,1,a", "O1,Demo,2024-01-03T10:30:00Z,1,a",
        "O1,closed_won,2999-01-01T00:00:00Z,1,a", "O2,mql,2024-01-05T00:00:00Z,inf,a"])},
        fit("value_all_problems.csv"), ["row 2: blank case_id", 'row 3: not a canonical',
                                        "row 4: time outside", "row 5: amount is not a finite"])


def dates() -> None:
    for year, stamp in (("2999", "2999-01-01T00:00:00Z"), ("9999", "9999-12-31T23:59:59Z"),
                        ("1700", "1700-01-01T00:00:00Z"), ("0001", "0001-01-01"),
                        ("1900", "1900-01-01"), ("2262", "2262-04-12T00:00:00Z"),
                        ("1969", "1969-12-31T23:00:00Z"), ("2150_offset",
                                                           "2150-06-01T00:00:00+05:00")):
        name = f"date_year_{year}"
        add(name, {f"{name}.csv": csv_bytes(HEADER, mutate(4, f"O0,closed_lost,{stamp},1000,a"))},
            fit(f"{name}.csv"), ["timestamp: row 4: time outside the years 1970-2100",
                                 stamp[:10]], subprocess=year == "2999")
    add("date_due_date_9999", {"date_due_9999.csv": csv_bytes(
        "case_id,activity,timestamp,due_date,amount",
        ["I1,invoice_issued,2024-01-01,9999-12-31,100", "I1,invoice_paid,2024-01-20,,100"])},
        fit("date_due_9999.csv"), ["due_date: row 2: time outside the years"])
    add("date_year_five_digits", {"date_year_five_digits.csv":
                                  csv_bytes(HEADER, mutate(4, "O0,closed_lost,10000-01-01,1,a"))},
        fit("date_year_five_digits.csv"), ["timestamp: row 4: unparseable time"])
    add("date_as_of_9999", {"canonical_good.csv": GOOD},
        fit("canonical_good.csv", "--as-of", "9999-01-01"), ["--as-of", "outside the years 1900-2200"])
    add("date_as_of_1700", {"canonical_good.csv": GOOD},
        fit("canonical_good.csv", "--as-of", "1700-01-01T00:00:00Z"),
        ["--as-of", "outside the years 1900-2200"])
    add("date_as_of_garbage", {"canonical_good.csv": GOOD},
        fit("canonical_good.csv", "--as-of", "next tuesday"), ['as_of: "next tuesday" is not an ISO 8601'])
    add("date_as_of_before_log", {"canonical_good.csv": GOOD},
        fit("canonical_good.csv", "--as-of", "2020-01-01"), ["every event is after the as-of"])


def degenerate() -> None:
    add("degen_one_row", {"degen_one_row.csv": csv_bytes(HEADER, ["O1,mql,2024-01-01,,a"])},
        fit("degen_one_row.csv"), ["every event (1) is at the same time"])
    same = [f"O{i},{a},2024-01-01T10:00:00Z,1,a" for i in range(6)
            for a in ("opportunity_created", "stage:demo", "closed_won")]
    add("degen_identical_times", {"degen_identical_times.csv": csv_bytes(HEADER, same)},
        fit("degen_identical_times.csv"), ["every event (18) is at the same time"])
    add("degen_one_case", {"degen_one_case.csv": csv_bytes(HEADER, good_rows(1))},
        fit("degen_one_case.csv"), ["warning:", "the log has one case (O0)"], exit=0,
        odd="one case is a valid log: fitted, with a warning that everything rests on it")
    add("degen_one_activity", {"degen_one_activity.csv": csv_bytes(HEADER, [
        f"O{i},stage:demo,2024-01-{i + 1:02d}T10:00:00Z,1,a" for i in range(8)])},
        fit("degen_one_activity.csv"), ["warning:", "every event is stage:demo"], exit=0,
        odd="one activity: fitted, with a warning that the routes are placeholders")
    add("degen_creation_only", {"degen_creation_only.csv": csv_bytes(HEADER, [
        f"L{i},lead_created,2024-01-{i + 1:02d}T10:00:00Z,,a" for i in range(8)])},
        fit("degen_creation_only.csv"), ["nothing to fit"])
    add("degen_terminals_only", {"degen_terminals_only.csv": csv_bytes(HEADER, [
        f"O{i},closed_won,2024-01-{i + 1:02d}T10:00:00Z,1,a" for i in range(8)])},
        fit("degen_terminals_only.csv"), ["nothing to fit"])
    negative = [r.replace(",1250,", ",-1250,") if r.startswith("O1,closed_won") else
                r.replace(",1500,", ",0,") if r.startswith("O2,closed_won") else
                r.replace(",1750,", ",-1750,") if r.startswith("O3,") else r for r in good_rows()]
    add("degen_negative_amounts", {"degen_negative_amounts.csv": csv_bytes(HEADER, negative)},
        fit("degen_negative_amounts.csv"),
        ["excluded from the fit: won deals with an amount of 0 or less (left out of the deal "
         "values): 2"], exit=0,
        odd="a negative or zero amount on a won deal (a credit) is data: the fit leaves it out "
            "of the deal values and counts it; the lost deal's negative amount is not used")
    add("degen_invoices_without_due_dates", {"degen_no_due.csv": csv_bytes(
        "case_id,activity,timestamp,amount",
        [f"I{i},invoice_issued,2024-01-{i + 1:02d}T10:00:00Z,100" for i in range(8)])},
        fit("degen_no_due.csv"),
        ["the invoices have no due dates: each is taken as due 30 days after issue (assumed"],
        exit=0, odd="invoices without due dates: each is taken as due 30 days after issue, "
                    "said so")


def odd_but_valid() -> None:
    """Logs a fit reads correctly although they once misled it."""
    add("odd_attribute_named_entered", {"odd_attribute_entered.csv": csv_bytes(
        HEADER + ",entered", [r + ",yes" for r in good_rows()])},
        fit("odd_attribute_entered.csv"), ["wrote the fitted scenario"], exit=0,
        odd="an attribute named like a column the fit works with (entered) is only data")
    add("odd_attribute_named_stage", {"odd_attribute_stage.csv": csv_bytes(
        HEADER + ",stage", [r + ",late" for r in good_rows()])},
        fit("odd_attribute_stage.csv"), ["wrote the fitted scenario"], exit=0,
        odd="an attribute named stage is only data")
    pairs = []
    for r in good_rows():
        if ",stage:demo," in r:
            pairs += [r.replace("10:30:00Z", "10:00:00Z") + ",start", r + ",complete"]
        else:
            pairs.append(r + ",")
    add("odd_start_and_complete", {"odd_start_complete.csv": csv_bytes(HEADER + ",lifecycle",
                                                                       pairs)},
        fit("odd_start_complete.csv"),
        ["events with a lifecycle other than complete (e.g. start) whose activity also "
         "completes in the case (the completion is used): 8"], exit=0,
        odd="an XES-style start/complete pair is one stage entry: the start is left out, counted")
    sources = [r + ("," + ("Web" if r.startswith(("O1,", "O3,", "O5,", "O7,")) else "web"))
               for r in good_rows()]
    add("odd_sources_differing_in_case", {"odd_sources_case.csv": csv_bytes(HEADER + ",source",
                                                                           sources)},
        fit("odd_sources_case.csv"), ["wrote the fitted scenario"], exit=0,
        odd="sources Web and web stay two sources (web, web_2), neither overwrites the other")
    onboarding = [r for i in range(6) for r in (
        f"O{i},opportunity_created,2024-01-{i + 1:02d}T09:00:00Z,100,a",
        f"O{i},closed_won,2024-01-{i + 8:02d}T09:00:00Z,100,a",
        f"O{i},onboarding_started,2024-01-{i + 8:02d}T09:00:00Z,100,a",
        f"O{i},go_live,2024-01-{i + 18:02d}T09:00:00Z,100,a")]
    add("odd_onboarding_without_invoices", {"odd_onboarding.csv": csv_bytes(HEADER, onboarding)},
        fit("odd_onboarding.csv"), ["wrote the fitted scenario"], exit=0,
        odd="won deals go on to onboarding although the log has no invoices")
    long_stage = [r.replace("stage:demo", "stage:" + "Z" * 300) for r in good_rows()]
    add("odd_long_stage_label", {"odd_long_stage.csv": csv_bytes(HEADER, long_stage)},
        ["fit", "{here}/odd_long_stage.csv", "-o", "{out}/fitted.toml", "--report",
         "{out}/report"], ["wrote the fitted scenario", "report files"], exit=0,
        odd="a 300-character stage label is cut to a 60-character key (report file names too)")
    add("odd_due_dates_decades_out", {"odd_due_far.csv": csv_bytes(
        "case_id,activity,timestamp,amount,due_date",
        [f"I{i},invoice_issued,2024-01-{i + 1:02d},5,2099-01-{i + 1:02d}" for i in range(6)])},
        fit("odd_due_far.csv"), ["odd_due_far.csv", "payment terms of", "3,650"])


MAPPING_LOG = csv_bytes("case_id,activity,timestamp", [
    f"D{i},{a},2024-01-{i + d:02d}T09:00:00Z" for i in range(1, 7)
    for a, d in (("Prospecting", 0), ("Engaging", 2), ("Won" if i % 2 else "Lost", 9))])
GOOD_MAPPING = (b'[activities]\n"Prospecting" = "stage:prospecting"\n"Engaging" = '
                b'"stage:engaging"\n"Won" = "closed_won"\n"Lost" = "closed_lost"\n')


def mappings() -> None:
    def mapped(name: str, content: bytes, expect: list[str]) -> None:
        add(name, {"mapping_log.csv": MAPPING_LOG, f"{name}.toml": content},
            fit("mapping_log.csv", "--mapping", f"{{here}}/{name}.toml"), [f"{name}.toml", *expect])

    latin = GOOD_MAPPING.replace(b'"Won"', b'"Gewonnen \xfcber"')
    mapped("map_latin1", latin, ["not UTF-8 text", "line 4"])
    mapped("map_utf16_bom", GOOD_MAPPING.decode().encode("utf-16"), ["UTF-16"])
    mapped("map_binary", bytes(random.Random(7).randrange(256) for _ in range(500)), ["binary"])
    mapped("map_gzip", gzip.compress(GOOD_MAPPING, mtime=0), ["gzip"])
    mapped("map_nul", GOOD_MAPPING.replace(b"Engaging\"", b"Enga\x00ging\"", 1), ["NUL", "line 3"])
    mapped("map_invalid_toml", b"[activities\n\"Won\" = closed_won\n", ["invalid TOML"])
    mapped("map_empty", b"", ["activities: missing or empty"])
    mapped("map_unknown_table", GOOD_MAPPING + b"[stages]\nx = 1\n", ["stages: unknown table"])
    mapped("map_not_canonical", GOOD_MAPPING.replace(b'"closed_won"', b'"won"'),
           ["activities.Won", "'won' is not a canonical activity"])
    mapped("map_number_target", GOOD_MAPPING.replace(b'"closed_won"', b"42"),
           ["activities.Won", "42 is not a canonical activity"])
    mapped("map_activities_string", b'activities = "Won"\n', ["activities: missing or empty"])
    mapped("map_nested_table", GOOD_MAPPING + b'[activities.Extra]\nx = "mql"\n',
           ["activities.Extra", "not a canonical activity"])
    mapped("map_label_twice_once_trimmed", GOOD_MAPPING + b'" Won " = "closed_lost"\n',
           ['the same label as "Won"'])
    mapped("map_blank_label", GOOD_MAPPING + b'"  " = "mql"\n', ["blank label"])
    mapped("map_order_not_list", GOOD_MAPPING + b'[order]\nstages = "prospecting"\n',
           ["order.stages: must be a list"])
    mapped("map_order_twice", GOOD_MAPPING + b'[order]\nstages = ["engaging", "engaging"]\n',
           ["'engaging' is listed twice"])
    mapped("map_order_unknown_key", GOOD_MAPPING + b'[order]\nsteps = ["engaging"]\n',
           ["order.steps: unknown key"])
    mapped("map_huge_label", GOOD_MAPPING + b'"' + b"L" * 6000 + b'" = "not_a_thing"\n',
           ["is not a canonical activity", "characters)"])
    mapped("map_missing_label", GOOD_MAPPING.replace(b'"Lost" = "closed_lost"\n', b""),
           ["activity not in the mapping", '"Lost"'])
    mapped("map_duplicate_key", GOOD_MAPPING + b'"Won" = "closed_lost"\n', ["invalid TOML"])
    add("map_missing_file", {"mapping_log.csv": MAPPING_LOG},
        fit("mapping_log.csv", "--mapping", "{here}/no_such_mapping.toml"),
        ["no_such_mapping.toml", "file not found"])
    add("map_folder", {"mapping_log.csv": MAPPING_LOG},
        fit("mapping_log.csv", "--mapping", "{here}"), ["is a directory"])
    evil = GOOD_MAPPING.replace(b'"stage:engaging"',
                                b'"stage:engaging\\n[pools.evil]\\nheadcount = 99"')
    add("map_injection_in_target", {"mapping_log.csv": MAPPING_LOG,
                                    "map_injection_in_target.toml": evil},
        fit("mapping_log.csv", "--mapping", "{here}/map_injection_in_target.toml"),
        ["wrote the fitted scenario"], exit=0,
        odd="a stage name holding a TOML table header is data: the fitted scenario keeps it "
            "inside a string and has no such pool")


SF_HEADER = "Id,OpportunityId,CreatedById,CreatedDate,StageName,Amount"


def sf_rows() -> list[str]:
    rows = []
    for i in range(1, 7):
        rows += [f"h{i}a,op{i},u1,2023-01-{i:02d}T09:00:00.000+0000,Prospecting,{1000 * i}",
                 f"h{i}b,op{i},u1,2023-01-{i + 10:02d}T09:00:00.000+0000,Qualification,"
                 f"{1000 * i}",
                 f"h{i}c,op{i},u1,2023-02-{i:02d}T09:00:00.000+0000,"
                 f"{'Closed Won' if i % 2 else 'Closed Lost'},{1000 * i}"]
    return rows


HS_HEADER = ('Record ID,Deal Stage,Amount,Create Date,"Date entered ""Qualified (Sales Pipeline)""",'
             '"Date entered ""Closed Won (Sales Pipeline)"""')


def hs_rows() -> list[str]:
    return [f"{9000 + i},Closed Won,{500 * i},2023-03-{i:02d} 09:00,2023-03-{i + 5:02d} 10:00,"
            f"2023-04-{i:02d} 15:00" for i in range(1, 7)]


STRIPE_HEADER = ("id,customer,created,currency,amount_due,amount_paid,collection_method,due_date,"
                 "status,status_transitions.finalized_at,status_transitions.paid_at")


def stripe_rows() -> list[str]:
    base = 1704067200
    return [f"in_{i},cus_{i},{base + i * 86400},usd,{1000 * i},{1000 * i},send_invoice,"
            f"{base + (i + 30) * 86400},paid,{base + i * 86400 + 60},{base + (i + 20) * 86400}"
            for i in range(1, 7)]


AR_HEADER = "doc_id,cust_number,document_create_date,due_in_date,clear_date,total_open_amount"


def ar_rows() -> list[str]:
    return [f"{1000 + i},C{i},202001{i:02d},202002{i:02d},2020-02-{i + 3:02d},{100.5 * i}"
            for i in range(1, 7)]


MAVEN_HEADER = "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value"


def maven_rows() -> list[str]:
    return [f"M{i},Ana,GTX,Acme{i},{'Won' if i % 3 else 'Lost'},{i + 1:02d}-01-17,"
            f"{i + 10:02d}-02-17,{0 if i % 3 == 0 else 100 * i}" for i in range(1, 13)]


def exports() -> None:
    def export(name: str, fmt: str, header: str, rows: list[str], expect: list[str], *,
               exit: int = 2, odd: str | None = None, encoding: str = "utf-8") -> None:
        add(name, {f"{name}.csv": csv_bytes(header, rows, encoding=encoding)},
            fit(f"{name}.csv", "--format", fmt), expect, exit=exit, odd=odd)

    sf = sf_rows()
    export("sf_missing_columns", "salesforce", "Id,Opportunity,When,Stage", ["1,2,3,4"],
           ["no OpportunityId column", "Salesforce OpportunityHistory"])
    export("sf_latin1", "salesforce", SF_HEADER,
           [*sf[:4], "h9,op9,Jos\xe9,2023-01-09T09:00:00.000+0000,Prospecting,1"], ["not UTF-8",
                                                                                  "line 6"],
           encoding="latin-1")
    export("sf_year_2999", "salesforce", SF_HEADER,
           mutate(3, "h1b,op1,u1,2999-01-11T09:00:00.000+0000,Qualification,1000", sf),
           ["CreatedDate: row 3: time outside the years 1970-2100"])
    export("sf_amount_inf", "salesforce", SF_HEADER,
           mutate(3, "h1b,op1,u1,2023-01-11T09:00:00.000+0000,Qualification,inf", sf),
           ["Amount: row 3: not a finite number"])
    export("sf_duplicate_stage_column", "salesforce", SF_HEADER + ",StageName",
           [r + ",x" for r in sf], ["StageName: 2 columns have this name (columns 5, 7)"])
    export("sf_amount_two_spellings", "salesforce", SF_HEADER + ",amount",
           [r + ",1" for r in sf], ["Amount: 2 columns have this name"])
    export("sf_blank_id", "salesforce", SF_HEADER,
           mutate(4, "h1c,,u1,2023-02-01T09:00:00.000+0000,Closed Won,1000", sf),
           ["OpportunityId: row 4: blank OpportunityId"])
    export("sf_header_only", "salesforce", SF_HEADER, [], ["no events in the file"])
    export("sf_blank_created_date", "salesforce", SF_HEADER,
           mutate(2, "h1a,op1,u1,,Prospecting,1000", sf), ["CreatedDate: row 2: blank"])

    hs = hs_rows()
    export("hs_no_stage_columns", "hubspot", "Record ID,Deal Stage,Create Date",
           ["1,Won,2023-01-01 09:00"], ['no "Date entered <stage>"'])
    export("hs_create_date_1700", "hubspot", HS_HEADER,
           mutate(3, "9002,Closed Won,1000,1700-03-02 09:00,2023-03-07 10:00,2023-04-02 15:00",
                  hs), ["Create Date: row 3: time outside the years"])
    export("hs_amount_overflow", "hubspot", HS_HEADER,
           mutate(3, "9002,Closed Won,1e999,2023-03-02 09:00,2023-03-07 10:00,2023-04-02 15:00",
                  hs), ['Amount: row 3: not a number: "1e999"'])
    export("hs_blank_create_date", "hubspot", HS_HEADER,
           mutate(3, "9002,Closed Won,1000,,2023-03-07 10:00,2023-04-02 15:00", hs),
           ["Create Date: row 3: blank Create Date"])
    export("hs_duplicate_record_id", "hubspot", HS_HEADER + ",record id",
           [r + ",1" for r in hs], ["Record ID: 2 columns have this name"])
    export("hs_unparseable_stage_date", "hubspot", HS_HEADER,
           mutate(4, "9003,Closed Won,1000,2023-03-03 09:00,next week,2023-04-03 15:00", hs),
           ['row 4: unparseable time "next week"'])
    add("hs_binary", {"bin_random.csv": blobs_random()},
        fit("bin_random.csv", "--format", "hubspot"), ["binary"])

    st = stripe_rows()
    export("stripe_milliseconds", "stripe", STRIPE_HEADER,
           mutate(3, st[1].replace(st[1].split(",")[2], st[1].split(",")[2] + "000"), st),
           ["created: row 3", "milliseconds: divide by 1000"])
    export("stripe_negative_seconds", "stripe", STRIPE_HEADER,
           mutate(3, st[1].replace(st[1].split(",")[2], "-86400"), st),
           ["created: row 3: Unix seconds give a time outside the years"])
    export("stripe_huge_seconds", "stripe", STRIPE_HEADER,
           mutate(3, st[1].replace(st[1].split(",")[2], "99999999999999999999"), st),
           ["created: row 3: Unix seconds give a time outside"])
    export("stripe_text_seconds", "stripe", STRIPE_HEADER,
           mutate(3, st[1].replace(st[1].split(",")[2], "yesterday"), st),
           ['created: row 3: not Unix seconds: "yesterday"'])
    export("stripe_unknown_status", "stripe", STRIPE_HEADER,
           mutate(3, st[1].replace(",paid,", ",settled,"), st), ['unknown status "settled"'])
    export("stripe_paid_without_time", "stripe", STRIPE_HEADER,
           mutate(3, st[1].rsplit(",", 1)[0] + ",", st),
           ["status paid without status_transitions.paid_at"])
    export("stripe_all_drafts", "stripe", STRIPE_HEADER,
           [r.replace(",paid,", ",draft,") for r in st],
           ["no events in the file; 6 rows skipped (stripe: draft invoice)"])
    export("stripe_amount_inf", "stripe", STRIPE_HEADER,
           mutate(3, st[1].replace(",2000,2000,", ",inf,2000,"), st),
           ["amount_due: row 3: not a finite number"])
    export("stripe_blank_created", "stripe", STRIPE_HEADER,
           mutate(3, st[1].replace(st[1].split(",")[2], ""), st),
           ["created: row 3: blank created"])
    export("stripe_due_year_3000", "stripe", STRIPE_HEADER,
           mutate(3, st[1].replace(st[1].split(",")[7], "32503680000"), st),
           ["due_date: row 3: Unix seconds give a time outside"])

    ar = ar_rows()
    export("ar_compact_date_2999", "ar", AR_HEADER,
           mutate(3, "1002,C2,29990102,20200202,2020-02-05,201", ar),
           ["document_create_date: row 3: time outside the years"])
    export("ar_blank_document_date", "ar", AR_HEADER, mutate(3, "1002,C2,,20200202,,201", ar),
           ["document_create_date: row 3: blank document date"])
    export("ar_invoice_id_reused", "ar", AR_HEADER,
           mutate(3, "1001,C9,20200109,20200209,,5", ar), ["doc_id: row 3: invoice id already"])
    export("ar_missing_document_date", "ar", "doc_id,cust_number,total_open_amount", ["1,2,3"],
           ["no document date column"])
    add("ar_utf16_no_bom", {"ar_utf16_no_bom.csv": csv_bytes(AR_HEADER, ar, encoding="utf-16-le")},
        fit("ar_utf16_no_bom.csv", "--format", "ar"), ["UTF-16"])
    export("ar_amount_overflow", "ar", AR_HEADER,
           mutate(3, "1002,C2,20200102,20200202,2020-02-05,1e999", ar),
           ['total_open_amount: row 3: not a number: "1e999"'])
    export("ar_clear_date_9999", "ar", AR_HEADER,
           mutate(3, "1002,C2,20200102,20200202,9999-12-31,201", ar),
           ["clear_date: row 3: time outside the years"])

    for short, fmt, header, expect in (
            ("hs", "hubspot", HS_HEADER, "Create Date: row 2: blank"),
            ("stripe", "stripe", STRIPE_HEADER, "created: row 2: blank"),
            ("ar", "ar", AR_HEADER, "document_create_date: row 2: blank"),
            ("sf", "salesforce", SF_HEADER, "CreatedDate: row 2: blank"),
            ("maven", "maven", MAVEN_HEADER, "deal_stage: row 2: blank")):
        export(f"{short}_row_of_commas", fmt, header, ["," * header.count(",")], [expect])
    for short, fmt, header in (("hs", "hubspot", HS_HEADER), ("stripe", "stripe", STRIPE_HEADER),
                               ("ar", "ar", AR_HEADER)):
        export(f"{short}_header_only", fmt, header, [], ["no events in the file"])

    mv = maven_rows()
    export("maven_missing_columns", "maven", "opportunity_id,deal_stage", ["1,Won"],
           ["no sales_agent column"])
    export("maven_unknown_stage", "maven", MAVEN_HEADER,
           mutate(3, "M2,Ana,GTX,Acme2,Closed,03-01-17,12-02-17,200", mv),
           ['deal_stage: row 3: unknown deal_stage "Closed"'])
    export("maven_iso_year_2999", "maven", MAVEN_HEADER,
           [f"M{i},Ana,GTX,Acme{i},Won,2017-01-{i:02d},2017-02-{i:02d},100" for i in range(1, 7)]
           + ["M7,Ana,GTX,Acme7,Won,2999-01-07,2999-02-07,100"],
           ["engage_date: row 8: time outside the years", "close_date: row 8"])
    export("maven_garbage_date", "maven", MAVEN_HEADER,
           mutate(3, "M2,Ana,GTX,Acme2,Won,31-31-17,12-02-17,200", mv),
           ['engage_date: row 3: not a %d-%m-%y or %Y-%m-%d date: "31-31-17"'])
    export("maven_all_prospecting", "maven", MAVEN_HEADER,
           [f"M{i},Ana,GTX,Acme,Prospecting,,," for i in range(5)],
           ["no events in the file; 5 rows skipped (maven: Prospecting deal without dates)"])
    export("maven_negative_won_value", "maven", MAVEN_HEADER,
           mutate(3, "M2,Ana,GTX,Acme2,Won,03-01-17,12-02-17,-200", mv),
           ["excluded from the fit: won deals with an amount of 0 or less (left out of the deal "
            "values): 1"], exit=0,
           odd="a negative close value on a won deal is left out of the deal values, counted")
    add("maven_gzip", {"bin_gzip.csv": gzip.compress(GOOD, mtime=0)},
        fit("bin_gzip.csv", "--format", "maven"), ["gzip"])
    export("maven_header_only", "maven", MAVEN_HEADER, [], ["no events in the file"])


def blobs_random() -> bytes:
    rng = random.Random(18)
    return bytes(rng.randrange(256) for _ in range(2048))


def backtests() -> None:
    """backtest reads logs through the same layer: a handful of the cases above."""
    latin = good_rows()
    latin[1] = "O0,stage:démo,2024-01-03T10:30:00Z,1000,ae-0"
    add("bt_latin1", {"enc_latin1_label.csv": csv_bytes(HEADER, latin, encoding="latin-1")},
        backtest("enc_latin1_label.csv"), ["not UTF-8 text", "line 3"])
    add("bt_empty", {"shape_empty.csv": b""}, backtest("shape_empty.csv"), ["the file is empty"],
        subprocess=True)
    add("bt_binary", {"bin_random.csv": blobs_random()}, backtest("bin_random.csv"), ["binary"])
    add("bt_nul", {"nul_in_activity.csv": csv_bytes(HEADER, mutate(
        3, "O0,stage:de\x00mo,2024-01-03T10:30:00Z,1000,ae-0"))},
        backtest("nul_in_activity.csv"), ["NUL character"])
    add("bt_duplicate_column", {"shape_duplicate_column.csv": csv_bytes(
        HEADER + ",activity", [r + ",x" for r in good_rows()])},
        backtest("shape_duplicate_column.csv"), ["column name appears 2 times"])
    add("bt_year_2999", {"date_year_2999.csv": csv_bytes(HEADER, mutate(
        4, "O0,closed_lost,2999-01-01T00:00:00Z,1000,a"))},
        backtest("date_year_2999.csv"), ["time outside the years"])
    add("bt_header_only", {"shape_header_only.csv": b"case_id,activity,timestamp\n"},
        backtest("shape_header_only.csv"), ["no events in the file"])
    add("bt_mapping_latin1", {"mapping_log.csv": MAPPING_LOG, "map_latin1.toml":
                              GOOD_MAPPING.replace(b'"Won"', b'"Gewonnen \xfcber"')},
        backtest("mapping_log.csv", "--mapping", "{here}/map_latin1.toml"),
        ["map_latin1.toml", "not UTF-8"])
    add("bt_encoding_unknown", {"canonical_good.csv": GOOD},
        backtest("canonical_good.csv", "--encoding", "klingon-8"), ["unknown text encoding"])
    add("bt_as_of_9999", {"canonical_good.csv": GOOD},
        backtest("canonical_good.csv", "--as-of", "9999-01-01"), ["--as-of", "outside the years 1900-2200"])
    st = stripe_rows()
    add("bt_stripe_milliseconds", {"bt_stripe_ms.csv": csv_bytes(
        STRIPE_HEADER, [st[0].replace(st[0].split(",")[2], st[0].split(",")[2] + "000"),
                        *st[1:]])},
        backtest("bt_stripe_ms.csv", "--format", "stripe"), ["milliseconds"])
    add("bt_maven_unknown_stage", {"maven_unknown_stage.csv": csv_bytes(
        MAVEN_HEADER, mutate(3, "M2,Ana,GTX,Acme2,Closed,03-01-17,12-02-17,200", maven_rows()))},
        backtest("maven_unknown_stage.csv", "--format", "maven"), ["unknown deal_stage"])
    add("bt_utf16_no_bom", {"enc_utf16le_no_bom.csv": GOOD.decode().encode("utf-16-le")},
        backtest("enc_utf16le_no_bom.csv"), ["UTF-16"])
    add("bt_identical_times_reads", {"degen_one_row.csv": csv_bytes(HEADER,
                                                                    ["O1,mql,2024-01-01,,a"])},
        backtest("degen_one_row.csv"), ["degen_one_row.csv"])


def manifest() -> str:
    lines = ["# The bad inputs of tests/fuzz/logs, one [[case]] each: generated by make_corpus.py",
             "# (edit there and run it). tests/test_fuzz_logs.py runs each `args` ({here} = this",
             "# folder, {out} = a fresh output folder, {scenario} = a shipped scenario) and checks",
             "# the exit code, that every error line names one of `files`, that stderr holds each",
             "# `expect` string, and no traceback. `odd` marks an input that is strange but",
             "# meaningful (exit 0, with a warning or a count of what the fit left out);",
             "# `subprocess` cases run as real `python -m revsim` processes, the rest in-process.",
             ""]
    for case in CASES:
        lines.append("[[case]]")
        for key, value in case.items():
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=True)}")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    encodings()
    nul_and_control()
    structure()
    values()
    dates()
    degenerate()
    odd_but_valid()
    mappings()
    exports()
    backtests()
    add("canonical_good_fits", {"canonical_good.csv": GOOD}, fit("canonical_good.csv"),
        ["wrote the fitted scenario", "excluded from the fit: none"], exit=0,
        odd="the good log all the mutations start from: it must fit")
    keep = {"make_corpus.py", "cases.toml", "README.md"}
    for old in HERE.iterdir():
        if old.is_file() and old.name not in keep and old.name not in FILES:
            old.unlink()
    for name, content in FILES.items():
        (HERE / name).write_bytes(content)
    (HERE / "cases.toml").write_text(manifest(), encoding="utf-8")
    print(f"{len(CASES)} cases, {len(FILES)} files")


if __name__ == "__main__":
    main()
