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
