"""The training table (train.datasets): columns, one-line errors, and the genome map column."""

from __future__ import annotations

import pytest

from virnucpro_smk.errors import InputError
from virnucpro_smk.preprocess.genomes import read_genome_map
from virnucpro_smk.preprocess.training_table import genome_map_of, load_training_table


def table(tmp_path, body, header="dataset\tlabel\tgroup\tfasta\tgbff\tgenomes"):
    fasta = tmp_path / "v.fa"
    fasta.write_text(">a\nACGT\n")
    path = tmp_path / "t.tsv"
    path.write_text("# a comment line\n" + header + "\n" + body.format(fa=fasta, tmp=tmp_path))
    return str(path)


def test_rows_become_datasets_with_their_genome_maps(tmp_path):
    (tmp_path / "g.tsv").write_text("record\tgenome\na\tG1\nb\tG1\n")
    path = table(
        tmp_path,
        "v\tviral\t\t{fa}\t\t{tmp}/g.tsv\nh\tnonviral\thost\t\trefseq/x.gbff\t\n",
    )
    out = load_training_table(path, "refseq")
    assert out["v"] == {
        "label": 1,
        "group": "v",
        "fasta": f"{tmp_path}/v.fa",
        "gbff": "",
        "genomes": f"{tmp_path}/g.tsv",
    }
    assert out["h"]["label"] == 0 and out["h"]["group"] == "host"
    assert genome_map_of(out["h"], "res/h/genomes.tsv") == "res/h/genomes.tsv"
    assert read_genome_map(genome_map_of(out["v"], "unused")) == {"a": "G1", "b": "G1"}


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        ("v\tviral\t{fa}\n", "dataset\tlabel\tfasta", r"lacks column\(s\) group"),
        ("v w\tviral\tg\t{fa}\t\t\n", None, "names must be unique"),
        ("v\tviral\tg\t\t\t\n", None, "give a fasta or a gbff"),
        ("v\tmaybe\tg\t{fa}\t\t\n", None, "line 3: label 'maybe' is not viral or nonviral"),
        ("v\tviral\tg\t{tmp}/none.fa\t\t\n", None, "none.fa' not found"),
        ("v\tviral\tg\t\trefseq/x.gbff\t{fa}\n", None, "a genomes map is for FASTA datasets"),
        ("v\tviral\tg\t{fa}\t\t\nh\tnonviral\tg\t{fa}\t\t\n", None, "hold both viral and non"),
    ],
)
def test_bad_tables_are_one_line_errors(tmp_path, body, header, message):
    args = (tmp_path, body) if header is None else (tmp_path, body, header)
    with pytest.raises(InputError, match=message) as err:
        load_training_table(table(*args), "refseq")
    assert "\n" not in str(err.value) and str(err.value).startswith("config key train.datasets")


def test_a_record_with_two_genomes_is_refused(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("record\tgenome\na\tG1\na\tG2\n")
    with pytest.raises(InputError, match="record 'a' is given two genomes"):
        read_genome_map(path)
