"""Reading contact files (pure): CSV or XLSX, the text encoding and the separator of a
CSV, its rows, and the column mapping guessed from the header.

* Encodings: UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's "Unicode
  text"), else Windows-1252 (what Excel writes in Western Europe; a superset of Latin-1
  for printable characters), else Latin-1 (which decodes any byte).
* Separators: comma, semicolon (Excel in French), tab, pipe — the one that splits the
  first lines into the same number (> 1) of columns most consistently.
* XLSX: the first sheet, read with openpyxl in read-only mode (rows streamed). The old
  binary .xls format is refused with a clear message.
"""

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from chappe.common.numbers import InvalidNumber, normalize
from chappe.contacts.fields import BUILTIN_FIELDS, CUSTOM_PREFIX, FieldSpec, text_of

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024
SAMPLE_LINES = 50
MAX_COLUMNS = 200

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>]")


class UnreadableFile(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FileInfo:
    format: str  # csv / xlsx
    encoding: str = ""
    delimiter: str = ""


def detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in data[:SAMPLE_BYTES]:
        raise UnreadableFile("binary_file", _("This file is not a CSV text file."))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def detect_delimiter(sample: str) -> str:
    """The separator that cuts the sample's lines into the same number (> 1) of columns
    most often; ties go to the one giving more columns. One column: a comma."""
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut
    lines = [line for line in lines if line.strip()][:SAMPLE_LINES]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            continue
        columns, times = Counter(counts).most_common(1)[0]
        if columns < 2:
            continue
        score = (times / len(counts), columns)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def sniff(data: bytes, file_name: str = "") -> FileInfo:
    """How to read `data`, or UnreadableFile."""
    if not data or not data.strip():
        raise UnreadableFile("empty_file", _("The file is empty."))
    if data.startswith(XLS_MAGIC):
        raise UnreadableFile("xls_not_supported", _(
            "Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV."))
    if data.startswith(XLSX_MAGIC):
        return FileInfo(format="xlsx")
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        raise UnreadableFile("bad_xlsx", _("This file is not a valid XLSX workbook."))
    encoding = detect_encoding(data)
    sample = data[:SAMPLE_BYTES].decode(encoding, errors="ignore")
    return FileInfo(format="csv", encoding=encoding, delimiter=detect_delimiter(sample))


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    import openpyxl  # takes ~0.1 s to import: only XLSX files need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException…
        raise UnreadableFile("bad_xlsx", _("This file is not a valid XLSX workbook.")) from exc
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            cells = list(row[:MAX_COLUMNS])
            while cells and (cells[-1] is None or cells[-1] == ""):
                cells.pop()
            yield cells
    finally:
        workbook.close()


def xlsx_row_count(data: bytes) -> int:
    """How many rows the first sheet of a workbook has (an upper bound: rows holding only
    empty cells are counted), by counting its <row> elements in the XML — a fraction of
    the time openpyxl takes to read them. 0 when the workbook is not as expected."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            sheet = re.search(r"<(?:\w+:)?sheet\b[^>]*\br:id=\"([^\"]+)\"", workbook)
            if sheet is None:
                return 0
            target = None
            for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
                if f'Id="{sheet.group(1)}"' in rel.group(0):
                    target = re.search(r'Target="([^"]+)"', rel.group(0))
            if target is None:
                return 0
            path = target.group(1).lstrip("/")
            path = path if path.startswith("xl/") else "xl/" + path
            count, tail = 0, b""
            with archive.open(path) as stream:
                while block := stream.read(1 << 20):
                    text = tail + block
                    # Tags ending in the new bytes; those ending in `tail` were counted.
                    count += sum(1 for m in _ROW_TAG.finditer(text) if m.end() > len(tail))
                    tail = text[-32:]
            return count
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return 0


def _csv_rows(data: bytes, info: FileInfo) -> Iterator[list[Any]]:
    text = data.decode(info.encoding, errors="replace")
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=info.delimiter or ","):
        yield [cell.strip() for cell in row[:MAX_COLUMNS]]


def iter_rows(data: bytes, info: FileInfo) -> Iterator[list[Any]]:
    """Every row of the file (header included, blank rows included), as cell lists."""
    if info.format == "xlsx":
        return _xlsx_rows(data)
    return _csv_rows(data, info)


def is_blank(row: Sequence[Any]) -> bool:
    return all(text_of(cell) == "" for cell in row)


# --- the column mapping --------------------------------------------------------------------

SYNONYMS: dict[str, tuple[str, ...]] = {
    "mobile": ("mobile", "portable", "tel portable", "telephone portable", "numero portable",
               "numero de portable", "no portable", "cellulaire", "cell", "cellphone",
               "cell phone", "mobile phone", "mobile number", "gsm", "msisdn", "numero",
               "number", "phone number", "numero de telephone", "sms", "destinataire",
               "recipient"),
    "first_name": ("prenom", "first name", "firstname", "given name", "forename"),
    "last_name": ("nom", "nom de famille", "last name", "lastname", "surname", "family name",
                  "name"),
    "company": ("societe", "entreprise", "company", "company name", "organisation",
                "organization", "raison sociale", "business"),
    "phone": ("telephone", "tel", "phone", "fixe", "telephone fixe", "tel fixe", "landline",
              "work phone", "bureau", "telephone bureau"),
    "email": ("email", "e mail", "mail", "courriel", "adresse email", "adresse e mail",
              "adresse mail", "email address", "e mail address"),
    "address": ("adresse", "address", "rue", "street", "adresse postale", "address line 1",
                "adresse ligne 1"),
    "city": ("ville", "city", "town", "commune", "localite"),
    "country": ("pays", "country"),
}
# Words that, inside a longer header, point to a field ("Téléphone mobile perso").
HINTS: tuple[tuple[str, str], ...] = (
    ("portable", "mobile"), ("mobile", "mobile"), ("gsm", "mobile"), ("cell", "mobile"),
    ("prenom", "first_name"), ("first", "first_name"),
    ("mail", "email"), ("courriel", "email"),
    ("societe", "company"), ("entreprise", "company"), ("company", "company"),
    ("ville", "city"), ("city", "city"), ("pays", "country"), ("country", "country"),
    ("adresse", "address"), ("address", "address"),
    ("telephone", "phone"), ("phone", "phone"), ("tel", "phone"),
    ("nom", "last_name"), ("name", "last_name"),
)


def header_key(text: Any) -> str:
    """A header reduced for comparison: no accents, no case, words split on anything
    that is not a letter or a digit."""
    decomposed = unicodedata.normalize("NFKD", text_of(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def parses_as_number(value: Any, default_country: str) -> bool:
    text = text_of(value)
    if not text or sum(c.isdigit() for c in text) < 6:
        return False
    try:
        normalize(text, default_country=default_country)
    except InvalidNumber:
        return False
    return True


def looks_like_header(row: Sequence[Any], *, default_country: str) -> bool:
    """A first row is a header when it has text and no phone number in it."""
    cells = [text_of(cell) for cell in row]
    return any(cells) and not any(parses_as_number(c, default_country) for c in cells)


def mapping_targets(custom: Sequence[FieldSpec]) -> list[str]:
    """Every target a column can be mapped to."""
    return [*BUILTIN_FIELDS, *(CUSTOM_PREFIX + spec.key for spec in custom)]


def guess_mapping(
    headers: Sequence[Any],
    *,
    custom: Sequence[FieldSpec] = (),
    samples: Sequence[Sequence[Any]] = (),
    default_country: str = "FR",
) -> list[str]:
    """One target per column ("" for a column to ignore), guessed from the header's
    words, then from the values when no column is recognised as the mobile number."""
    keys = [header_key(h) for h in headers]
    targets = [""] * len(keys)
    used: set[str] = set()

    def assign(index: int, target: str) -> None:
        if not targets[index] and target not in used:
            targets[index] = target
            used.add(target)

    custom_names = {}
    for spec in custom:
        custom_names[header_key(spec.key)] = CUSTOM_PREFIX + spec.key
        custom_names.setdefault(header_key(spec.label), CUSTOM_PREFIX + spec.key)
    for index, key in enumerate(keys):  # exact names first
        if key in custom_names:
            assign(index, custom_names[key])
            continue
        for target, names in SYNONYMS.items():
            if key in names:
                assign(index, target)
                break
    for index, key in enumerate(keys):  # then words inside longer headers
        words = key.split()
        for hint, target in HINTS:
            if not targets[index] and (hint in words or (len(hint) > 4 and hint in key)):
                assign(index, target)
    if "mobile" not in used:
        if "phone" in used:  # a file with one "Téléphone" column: that is the mobile
            index = targets.index("phone")
            targets[index] = "mobile"
            used.discard("phone")
            used.add("mobile")
        else:
            width = max([len(keys), *(len(row) for row in samples)], default=0)
            targets += [""] * (width - len(targets))
            for index in range(width):
                values = [row[index] for row in samples
                          if index < len(row) and text_of(row[index])]
                hits = sum(parses_as_number(v, default_country) for v in values)
                if values and not targets[index] and hits * 2 >= len(values):
                    targets[index] = "mobile"
                    break
    return targets
