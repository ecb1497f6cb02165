"""formats.table: one declaration per table gives its typed rows, one reader, one writer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from virnucpro_smk.errors import InputError
from virnucpro_smk.formats.table import Table


def _rows(table, lines, source):
    """The rows of a table's lines, without their line numbers."""
    return [row for _, row in table.numbered_rows_of(lines, source)]


@dataclass(frozen=True)
class Row:
    sequence_id: str
    chunk: int
    score: float | None
    call: str
    note: str = ""  # optional column: older files lack it


TABLE = Table("test", Row, missing="NA", floats="{:.6f}")


def test_rows_round_trip_with_formats_and_missing_values(tmp_path):
    rows = [Row("a", 1, 0.1234567, "viral", "x"), Row("b", 2, None, "no coding frame")]
    path = tmp_path / "t.tsv"
    TABLE.write(path, rows)
    assert path.read_text().splitlines() == [
        "sequence_id\tchunk\tscore\tcall\tnote",
        "a\t1\t0.123457\tviral\tx",
        "b\t2\tNA\tno coding frame\t",
    ]
    got = TABLE.read_all(path)
    assert got == [Row("a", 1, 0.123457, "viral", "x"), Row("b", 2, None, "no coding frame")]
    assert isinstance(got[0].chunk, int) and isinstance(got[0].score, float)


def test_an_optional_column_may_be_absent():
    lines = ["sequence_id\tchunk\tscore\tcall", "a\t1\t0.5\tviral"]
    assert list(_rows(TABLE, lines, "f")) == [Row("a", 1, 0.5, "viral", "")]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["sequence_id\tchunk\tcall\tscore", "a\t1\tv\t0.5"], "f, line 1: not a test table"),
        (["sequence_id\tchunk\tscore\tcall", "a\tone\t0.5\tv"],
         "f, line 2: chunk 'one' is not an integer"),
        (["sequence_id\tchunk\tscore\tcall", "", "a\t1\tx\tv"],
         "f, line 3: score 'x' is not a number"),
        (["sequence_id\tchunk\tscore\tcall", "a\t\t0.5\tv"], "f, line 2: empty chunk"),
        (["sequence_id\tchunk\tscore\tcall", "a\t1\t0.5"], "f, line 2: 3 cells, the header has 4"),
        ([], "f: empty file"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_naming_file_line_and_column(lines, message):
    with pytest.raises(InputError) as info:
        list(_rows(TABLE, lines, "f"))
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_user_tables_may_carry_comments_and_extra_columns_in_any_order():
    users = Table("sample sheet", Row, extra_columns=True, comments=True)
    lines = ["# a comment", "call\textra\tsequence_id\tscore\tchunk", "v\tz\ta\t\t3"]
    assert list(_rows(users, lines, "f")) == [Row("a", 3, None, "v")]
    with pytest.raises(InputError, match="lacks column"):
        list(_rows(users, ["call\tsequence_id", "v\ta"], "f"))
    with pytest.raises(InputError, match="appear twice"):
        list(_rows(users, ["call\tcall\tsequence_id\tchunk\tscore", "v\tv\ta\t1\t2"], "f"))


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(InputError, match="file not found; expected a test table"):
        TABLE.read_all(tmp_path / "absent.tsv")


def test_a_batched_writer_leaves_no_file_when_it_fails(tmp_path):
    path = tmp_path / "t.tsv"
    with pytest.raises(RuntimeError), TABLE.writer(path) as write:
        write([Row("a", 1, 0.5, "viral")])
        raise RuntimeError("crash between batches")
    assert not path.exists() and not list(tmp_path.iterdir())
    with TABLE.writer(path) as write:
        write([Row("a", 1, 0.5, "viral")])
        write([Row("b", 2, None, "nonviral")])
    assert [r.sequence_id for r in TABLE.read(path)] == ["a", "b"]


@dataclass(frozen=True, kw_only=True)
class Optional:
    name: str
    genome: str = ""  # optional, in the middle: keyword-only rows keep the file's order
    label: int
    seed: int = 0


def test_keyword_only_rows_take_optional_columns_anywhere():
    table = Table("t", Optional)
    assert table.header == ("name", "genome", "label", "seed")
    assert list(_rows(table, ["name\tlabel", "a\t1"], "f")) == [Optional(name="a", label=1)]
    lines = ["name\tgenome\tlabel\tseed", "a\tG\t0\t7"]
    assert list(_rows(table, lines, "f")) == [Optional(name="a", genome="G", label=0, seed=7)]
    with pytest.raises(InputError, match="f, line 1: not a t table"):  # order still checked
        list(_rows(table, ["label\tname", "1\ta"], "f"))


@dataclass(frozen=True)
class Scores:
    frame: str
    score: float
    rss: float | None = None


def _float32(value: float) -> str:
    return f"<{value:.2f}>"


def _measured(text: str) -> float | None:
    return None if text == "-" else float(text)


def _positive(text: str) -> float:
    if float(text) <= 0:
        raise ValueError("is not positive")
    return float(text)


def test_columns_may_have_their_own_format_and_parser():
    table = Table("t", Scores, formats={"score": _float32}, parsers={"rss": _measured})
    assert table.line(Scores("a", 0.125, 3.0)) == "a\t<0.12>\t3.0\n"
    assert table.line(Scores("a", 0.5)) == "a\t<0.50>\t\n"  # None: the missing text ("")
    assert list(_rows(table, ["frame\tscore\trss", "a\t1\t-", "b\t2\t"], "f")) == [
        Scores("a", 1.0, None),
        Scores("b", 2.0, None),
    ]
    strict = Table("t", Scores, parsers={"score": _positive})
    with pytest.raises(InputError, match=r"^f, line 3: score '-1' is not positive$"):
        list(_rows(strict, ["frame\tscore", "a\t1", "b\t-1"], "f"))


def test_tables_users_write_may_be_ragged_padded_and_saved_by_a_spreadsheet():
    users = Table("sheet", Row, extra_columns=True, comments=True, ragged=True, strip=True)
    lines = [
        "\ufeffsequence_id\tchunk\tscore\tcall\tnote\r\n",  # a byte-order mark, CRLF
        "  # an indented comment\n",
        " \t \n",  # blanks only
        " a \t 2\t0.5\tv\n",
        "b\t3\t\tv\n",  # the trailing empty cell dropped: note reads ""
    ]
    assert list(users.numbered_rows_of(lines, "f")) == [
        (4, Row("a", 2, 0.5, "v", "")),
        (5, Row("b", 3, None, "v", "")),
    ]
    with pytest.raises(InputError, match="f, line 2: 6 cells, the header has 5"):
        list(_rows(users, ["sequence_id\tchunk\tscore\tcall\tnote", "a\t1\t\tv\tn\tx"], "f"))
    with pytest.raises(
        InputError, match=r"lacks column\(s\) sequence_id, chunk, score, call .*tabs"
    ):
        list(_rows(users, ["sequence_id,chunk,call", "a,1,v"], "f"))


def test_a_file_reads_plain_or_gzip_and_names_itself(tmp_path):
    import gzip

    path = tmp_path / "t.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("sequence_id\tchunk\tscore\tcall\na\t1\tNA\tv\n")
    assert TABLE.read_all(path) == [Row("a", 1, None, "v")]
    assert list(TABLE.read_numbered(path)) == [(2, Row("a", 1, None, "v"))]
    with pytest.raises(InputError, match=r"^my table, line 2: chunk 'x' is not an integer"):
        (tmp_path / "bad.tsv").write_text("sequence_id\tchunk\tscore\tcall\na\tx\t1\tv\n")
        TABLE.read_all(tmp_path / "bad.tsv", source="my table")
    with pytest.raises(InputError, match="is a directory"):
        TABLE.read_all(tmp_path)


def test_the_compiled_line_writes_what_the_formats_say():
    """The writer is compiled once per table; each kind of cell against str.format."""

    @dataclass(frozen=True)
    class Every:
        text: str
        number: int
        flag: bool
        plain: float
        maybe: float | None
        pattern: float

    table = Table("t", Every, missing="NA", formats={"pattern": "[{:>6.2f}]"})
    row = Every("x y", -3, True, 0.1 + 0.2, None, 2.5)
    assert table.line(row) == "x y\t-3\ttrue\t0.30000000000000004\tNA\t[  2.50]\n"
    plain = Table("t", Every, missing="NA")  # str() of each value reads back exactly
    rows = [row, Every("", 0, False, -1e-300, 1.5, float("inf"))]
    assert list(_rows(plain, [plain.header_line, *map(plain.line, rows)], "f")) == rows


def test_rows_given_as_columns_are_written_as_rows_are(tmp_path):
    rows = [Row("a", 1, 0.1234567, "viral", "x"), Row("b", 2, None, "no coding frame")]
    path = tmp_path / "t.tsv"
    with TABLE.writer(path) as write:
        write.columns(["a"], [1], [0.1234567], ["viral"], ["x"])
        write(rows[1:])
    assert path.read_text() == TABLE.header_line + "".join(map(TABLE.line, rows))
    with pytest.raises(ValueError), TABLE.writer(tmp_path / "u.tsv") as write:
        write.columns(["a", "b"], [1], [0.5], ["v"], [""])  # columns of unequal length
    assert not (tmp_path / "u.tsv").exists()
