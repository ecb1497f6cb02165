"""Rule cluster_genomes: the genome clusters the training split keeps together (taxon of
unlinked records, species at 95 % ANI)."""

from pathlib import Path

from virnucpro_smk.preprocess.genome_clusters import (
    ClusterDataset,
    genome_clusters,
    write_cluster_map,
)
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake) as log:
    rows = genome_clusters(
        [
            ClusterDataset(
                name,
                d["spec"]["group"],
                int(d["spec"]["label"]),
                d["spec"],
                Path(d["sequences"]),
                Path(d["genome_map"]) if d["genome_map"] else None,
            )
            for name, d in snakemake.params.datasets.items()
        ],
        species=bool(snakemake.params.species),
    )
    write_cluster_map(rows, snakemake.output[0])
    clusters = {row.cluster for row in rows}
    log.info("%d genomes in %d clusters", len(rows), len(clusters))
