# Held-out evaluation on what predict sees: fragments of the test genomes (1, 3, 10, 30 kb by
# default) cut once the manifest is drawn (a checkpoint: the test genomes are known only
# then), preprocessed as a sample (every stop-free frame), embedded by the usual extraction
# jobs (unit `heldout`) and scored with every training seed's classifier by predict's own
# chunk and sequence rules. The comparison reads its accuracy from these tables.


include: "helpers/evaluate.smk"


checkpoint cut_test_fragments:
    input:
        manifest=f"{TRAINING_DIR}/training_manifest.tsv",
        datasets=dataset_sources,
    output:
        fasta=f"{HELDOUT_DIR}/fragments.fa",
        table=f"{HELDOUT_DIR}/fragments.tsv",
        summary=f"{HELDOUT_DIR}/fragments.json",
    params:
        datasets=dataset_source_params,
        lengths=COMPARE["fragment_lengths"],
        per_genome=COMPARE["fragments_per_genome"],
        seed=TRAIN["seed"],
    log:
        f"{OUT}/logs/cut_test_fragments/chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/cut_test_fragments/chunk{{L}}.tsv"
    resources:
        mem_mb=4000,
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/cut_test_fragments.py"


rule preprocess_heldout:
    input:
        fasta=heldout_fasta,
    output:
        chunked=temp(f"{HELDOUT_DIR}/chunked.fa"),
        nucleotide=f"{HELDOUT_DIR}/frames/identified_nucleotide.fa",
        protein=f"{HELDOUT_DIR}/frames/identified_protein.faa",
        sequences=f"{HELDOUT_DIR}/sequences.tsv",
        frame_index=f"{HELDOUT_DIR}/frames/shards.tsv",
    params:
        ambiguous=config["ambiguous_codons"],
    log:
        f"{OUT}/logs/preprocess_heldout/chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/preprocess_heldout/chunk{{L}}.tsv"
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/preprocess.py"


rule score_heldout:
    input:
        dna=pair_embeddings("heldout", "dna"),
        protein=pair_embeddings("heldout", "protein"),
        seed_weights=seed_weights,
        sequences=f"{HELDOUT_DIR}/sequences.tsv",
    output:
        chunks=f"{CLASSIFIER_DIR}/heldout_chunks.tsv",
        sequences=f"{CLASSIFIER_DIR}/heldout_sequences.tsv",
    params:
        seeds=TRAIN_SEEDS,
        min_viral_fraction=PREDICT["min_viral_fraction"],
        min_scored_fraction=PREDICT["min_scored_fraction"],
    log:
        f"{OUT}/logs/score_heldout/{CLASSIFIER_TAG}.log",
    benchmark:
        HELDOUT_SCORE_BENCHMARK
    resources:
        mem_mb=4000,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/score_heldout.py"
