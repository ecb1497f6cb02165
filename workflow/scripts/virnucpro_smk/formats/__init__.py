"""The tables the pipeline passes on: each declared once (columns, typed row, one reader, one
writer) in a module of its own; no other module parses these files (``table.Table``;
``tests/test_one_reader_per_table.py`` holds the rest of the package to that).

* ``frame_index``: ``frames/shards.tsv`` and each model's job table ``frames/jobs/<model>.tsv``;
* ``sequences``: ``sequences.tsv`` (per input sequence: length, chunks, kept frames);
* ``predictions``: ``predictions.tsv`` (the original's layout; its ``prediction_results.txt``
  too), ``per_chunk.tsv``, ``per_sequence.tsv``, ``summary.tsv``;
* ``regions``: ``regions.tsv``;
* ``manifest``: the training manifest; ``test_predictions``: training's test scores;
  ``training_log``: its epochs;
* ``genome_maps``: genome maps (``genomes.tsv``) and ``genome_clusters.tsv``;
* ``heldout``: the comparison's ``fragments.tsv``, ``heldout_chunks.tsv``,
  ``heldout_sequences.tsv``; ``calls``: its calls table (``calls_chunk<L>.tsv``);
* ``benchmarks``: Snakemake's benchmark files; ``verification``: ``verify_models``' table;
* the tables users write: ``sample_sheet`` (validated against
  ``workflow/schemas/samples.schema.yaml``) and ``training_table`` (``train.datasets`` and
  the embedding pairs of ``virnucpro-smk train``).
"""
