# The preprocess.smk rules' own input functions, params and path patterns (its rule file
# includes this one; Snakemake's lint keeps functions out of rule files). Uses only
# what common.smk defines or includes.


def dataset_fasta(wildcards):
    """A dataset's FASTA; GenBank datasets may have none (the builder reads the ORIGIN)."""
    return TRAINING[wildcards.dataset]["fasta"] or []


def dataset_gbff(wildcards):
    return TRAINING[wildcards.dataset]["gbff"]


def refseq_url(wildcards):
    return f"{config['refseq_url']}/{wildcards.division}/{wildcards.file}"


def refseq_files():
    """RefSeq release files named by the training datasets (fetched by download_refseq)."""
    return [
        f
        for d in TRAINING.values()
        for f in (d["fasta"], d["gbff"])
        if f.startswith(f"{REFSEQ_DIR}/")
    ]
