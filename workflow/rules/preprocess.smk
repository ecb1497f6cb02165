rule preprocess_sample:
    input:
        fasta=lambda wc: INPUTS[wc.sample],
    output:
        chunked=f"{SAMPLE_DIR}/chunked.fa",
        nucleotide=f"{FRAMES_DIR}/identified_nucleotide.fa",
        protein=f"{FRAMES_DIR}/identified_protein.faa",
        sequences=f"{SAMPLE_DIR}/sequences.tsv",
        shard_index=f"{FRAMES_DIR}/shards.tsv",
    params:
        n_shards=lambda wc: n_shards(wc.sample, int(wc.L)),
        ambiguous=config["ambiguous_codons"],
    wildcard_constraints:
        sample=_alternatives(FASTA_INPUTS),
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


# Byte-range copies of the kept frames: cheap, so they run on the submitting host.
localrules:
    shard_frames,


rule shard_frames:
    input:
        shard_index=f"{FRAMES_DIR}/shards.tsv",
        nucleotide=f"{FRAMES_DIR}/identified_nucleotide.fa",
        protein=f"{FRAMES_DIR}/identified_protein.faa",
    output:
        nucleotide=f"{FRAMES_DIR}/shard_{{shard}}.fna",
        protein=f"{FRAMES_DIR}/shard_{{shard}}.faa",
    log:
        f"{OUT}/logs/shard_frames/{{sample}}_chunk{{L}}_{{shard}}.log",
    benchmark:
        f"{OUT}/benchmarks/shard_frames/{{sample}}_chunk{{L}}_{{shard}}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/shard_frames.py"


rule build_training_frames:
    input:
        gbff=lambda wc: GENBANK_DATASETS[wc.dataset]["gbff"],
        fna=lambda wc: GENBANK_DATASETS[wc.dataset]["fasta"] or [],
    output:
        chunked=f"{OUT}/train.{{dataset}}/chunk{{L}}/chunked.fa",
        nucleotide=f"{OUT}/train.{{dataset}}/chunk{{L}}/frames/identified_nucleotide.fa",
        protein=f"{OUT}/train.{{dataset}}/chunk{{L}}/frames/identified_protein.faa",
        sequences=f"{OUT}/train.{{dataset}}/chunk{{L}}/sequences.tsv",
        shard_index=f"{OUT}/train.{{dataset}}/chunk{{L}}/frames/shards.tsv",
    params:
        n_shards=lambda wc: n_shards(f"train.{wc.dataset}", int(wc.L)),
    log:
        f"{OUT}/logs/build_training_frames/{{dataset}}_chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/build_training_frames/{{dataset}}_chunk{{L}}.tsv"
    resources:
        mem_mb=8000,
        runtime=720,
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/build_training_frames.py"


localrules:
    download_refseq,


rule download_refseq:
    output:
        f"{REFSEQ_DIR}/{{division}}/{{file}}",
    wildcard_constraints:
        division=r"[a-z_]+",
        file=r"[A-Za-z0-9_.]+\.(genomic\.fna|genomic\.gbff)\.gz",
    params:
        url=lambda wc: f"{config['refseq_url']}/{wc.division}/{wc.file}",
    log:
        f"{OUT}/logs/download_refseq/{{division}}_{{file}}.log",
    benchmark:
        f"{OUT}/benchmarks/download_refseq/{{division}}_{{file}}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/download_refseq.py"
