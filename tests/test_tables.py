"""formats.table: one declaration per table gives its typed rows, one reader, one writer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from virnucpro_smk.errors import InputError
from virnucpro_smk.formats.table import Table


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
    assert list(TABLE.rows_of(lines, "f")) == [Row("a", 1, 0.5, "viral", "")]


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
        list(TABLE.rows_of(lines, "f"))
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_user_tables_may_carry_comments_and_extra_columns_in_any_order():
    users = Table("sample sheet", Row, extra_columns=True, comments=True)
    lines = ["# a comment", "call\textra\tsequence_id\tscore\tchunk", "v\tz\ta\t\t3"]
    assert list(users.rows_of(lines, "f")) == [Row("a", 3, None, "v")]
    with pytest.raises(InputError, match="lacks column"):
        list(users.rows_of(["call\tsequence_id", "v\ta"], "f"))
    with pytest.raises(InputError, match="appear twice"):
        list(users.rows_of(["call\tcall\tsequence_id\tchunk\tscore", "v\tv\ta\t1\t2"], "f"))


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(InputError, match="cannot read the test table"):
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
