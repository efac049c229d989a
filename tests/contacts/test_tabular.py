"""Reading files (pure): encodings, separators, XLSX, header and mapping guesses."""

import codecs

import pytest

from chappe.contacts.fields import FieldSpec
from chappe.contacts.tabular import (
    UnreadableFile,
    detect_delimiter,
    detect_encoding,
    guess_mapping,
    iter_rows,
    looks_like_header,
    sniff,
)
from tests.contacts.conftest import csv_bytes, xlsx_bytes

ROWS = [["Prénom", "Nom", "Téléphone portable", "Société"],
        ["Zoé", "Lefèvre", "06 12 34 56 78", "Crème & Cie, SARL"],
        ["Jérôme", "Œuvre", "+33 6 98 76 54 32", "Ça va"]]


@pytest.mark.parametrize(("data", "encoding"), [
    (codecs.BOM_UTF8 + "Prénom\n".encode(), "utf-8-sig"),
    ("Prénom\n".encode(), "utf-8"),
    ("Prénom\n".encode("cp1252"), "cp1252"),
    ("Prénom Œuvre €\n".encode("cp1252"), "cp1252"),
    (b"Pr\xe9nom \x81\n", "latin-1"),  # 0x81 is not cp1252: Latin-1 reads any byte
    ("Prénom\n".encode("utf-16"), "utf-16"),
])
def test_encodings(data, encoding):
    assert detect_encoding(data) == encoding


@pytest.mark.parametrize(("delimiter", "encoding"), [
    (",", "utf-8"), (";", "cp1252"), ("\t", "utf-8-sig"), ("|", "utf-8"), (";", "utf-16"),
])
def test_every_separator_and_encoding_reads_the_same_rows(delimiter, encoding):
    rows = [[f'"{c}"' if "," in c and delimiter == "," else c for c in row] for row in ROWS]
    data = csv_bytes(rows, delimiter=delimiter, encoding=encoding)
    info = sniff(data, "file.csv")
    assert (info.format, info.delimiter) == ("csv", delimiter)
    assert list(iter_rows(data, info)) == ROWS


def test_a_comma_inside_semicolon_separated_values():
    sample = "nom;adresse;mobile\nA;1, rue X;0612345678\nB;2, rue Y;0612345679\n"
    assert detect_delimiter(sample) == ";"
    assert detect_delimiter("a,b;c\n1,2;3\n4,5;6\n") == ","  # more columns wins a tie


def test_one_column():
    assert detect_delimiter("0612345678\n0612345679\n") == ","


def test_xlsx_rows_keep_types_and_drop_trailing_blanks():
    data = xlsx_bytes([["mobile", "name", None], [612345678, "Zoé", None], [None, None]])
    info = sniff(data, "c.xlsx")
    assert info.format == "xlsx"
    assert list(iter_rows(data, info)) == [["mobile", "name"], [612345678, "Zoé"], []]


@pytest.mark.parametrize(("data", "name", "code"), [
    (b"", "a.csv", "empty_file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "a.xls", "xls_not_supported"),
    (b"not a zip", "a.xlsx", "bad_xlsx"),
    (b"a,b\x00c", "a.csv", "binary_file"),
])
def test_unreadable_files(data, name, code):
    with pytest.raises(UnreadableFile) as caught:
        sniff(data, name)
    assert caught.value.code == code


def test_a_corrupt_xlsx_fails_when_read():
    info = sniff(b"PK\x03\x04garbage", "a.xlsx")
    with pytest.raises(UnreadableFile):
        list(iter_rows(b"PK\x03\x04garbage", info))


def test_header_detection():
    assert looks_like_header(["Prénom", "Mobile"], default_country="FR")
    assert not looks_like_header(["Zoé", "0612345678"], default_country="FR")
    assert not looks_like_header(["", ""], default_country="FR")


def test_mapping_from_french_and_english_headers():
    headers = ["Prénom", "NOM", "Téléphone portable", "E-mail", "Société", "Ville", "Pays",
               "Adresse", "Tél. fixe", "Niveau fidélité", "Whatever"]
    custom = [FieldSpec("loyalty", "choice", ("a",), label="Niveau fidélité")]
    assert guess_mapping(headers, custom=custom) == [
        "first_name", "last_name", "mobile", "email", "company", "city", "country", "address",
        "phone", "custom:loyalty", ""]
    assert guess_mapping(["First Name", "Last Name", "Mobile Phone", "Email Address",
                          "loyalty"], custom=custom) == [
        "first_name", "last_name", "mobile", "email", "custom:loyalty"]


def test_a_single_phone_column_is_the_mobile():
    assert guess_mapping(["Nom", "Téléphone"]) == ["last_name", "mobile"]


def test_without_header_the_mobile_column_is_found_in_the_values():
    samples = [["Zoé", "Paris", "06 12 34 56 78"], ["Léa", "Lyon", "+33698765432"]]
    assert guess_mapping(["", "", ""], samples=samples) == ["", "", "mobile"]
