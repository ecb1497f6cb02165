# Chunks, six-frame selection and the frame index (byte ranges of rows of frames, from the
# frames alone) for samples; per-dataset frames for training (FASTA datasets like samples,
# GenBank datasets through the training-mode builder).


include: "helpers/preprocess.smk"


rule preprocess_sample:
    input:
        fasta=sample_fasta,
    output:
        chunked=temp(f"{SAMPLE_DIR}/chunked.fa"),
        nucleotide=f"{SAMPLE_DIR}/frames/identified_nucleotide.fa",
        protein=f"{SAMPLE_DIR}/frames/identified_protein.faa",
        sequences=f"{SAMPLE_DIR}/sequences.tsv",
        frame_index=f"{SAMPLE_DIR}/frames/shards.tsv",
    params:
        ambiguous=config["ambiguous_codons"],
    log:
        f"{OUT}/logs/preprocess_sample/{{sample}}_chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/preprocess_sample/{{sample}}_chunk{{L}}.tsv"
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/preprocess.py"


rule preprocess_training_fasta:
    input:
        fasta=dataset_fasta,
    output:
        chunked=temp(f"{DATASET_DIR}/chunked.fa"),
        nucleotide=f"{DATASET_DIR}/frames/identified_nucleotide.fa",
        protein=f"{DATASET_DIR}/frames/identified_protein.faa",
        sequences=f"{DATASET_DIR}/sequences.tsv",
    wildcard_constraints:
        dataset=_alternatives(FASTA_DATASETS),
    params:
        ambiguous=config["ambiguous_codons"],
    log:
        f"{OUT}/logs/preprocess_training_fasta/{{dataset}}_chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/preprocess_training_fasta/{{dataset}}_chunk{{L}}.tsv"
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/preprocess.py"


rule build_training_frames:
    input:
        gbff=dataset_gbff,
        fna=dataset_fasta,
    output:
        chunked=temp(f"{DATASET_DIR}/chunked.fa"),
        nucleotide=f"{DATASET_DIR}/frames/identified_nucleotide.fa",
        protein=f"{DATASET_DIR}/frames/identified_protein.faa",
        sequences=f"{DATASET_DIR}/sequences.tsv",
        genomes=f"{DATASET_DIR}/genomes.tsv",
    wildcard_constraints:
        dataset=_alternatives(GENBANK_DATASETS),
    log:
        f"{OUT}/logs/build_training_frames/{{dataset}}_chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/build_training_frames/{{dataset}}_chunk{{L}}.tsv"
    threads: TRAIN["builder_threads"]
    resources:
        mem_mb=8000,
        runtime=720,
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/build_training_frames.py"


# The units the training split keeps together: genomes, the unlinked records of one taxon
# (segments of a segmented virus) and species (ANI >= 95 % over >= 85 % of the shorter
# genome, skani), per training group; the frame files stay as the builder wrote them.
rule cluster_genomes:
    input:
        datasets=dataset_sources,
    output:
        f"{TRAINING_DIR}/genome_clusters.tsv",
    params:
        datasets=dataset_source_params,
        species=TRAIN["species_clusters"],
    log:
        f"{OUT}/logs/cluster_genomes/chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/cluster_genomes/chunk{{L}}.tsv"
    resources:
        mem_mb=8000,
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/cluster_genomes.py"


localrules:
    download_refseq,


rule download_refseq:
    output:
        f"{REFSEQ_DIR}/{{division}}/{{file}}",
    wildcard_constraints:
        division=r"[a-z_]+",
        file=r"[A-Za-z0-9_.]+\.(genomic\.fna|genomic\.gbff)\.gz",
    params:
        url=refseq_url,
    log:
        f"{OUT}/logs/download_refseq/{{division}}_{{file}}.log",
    benchmark:
        f"{OUT}/benchmarks/download_refseq/{{division}}_{{file}}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/download_refseq.py"


rule preprocess:
    input:
        preprocess_targets,


rule download_refseq_all:
    input:
        refseq_files(),
