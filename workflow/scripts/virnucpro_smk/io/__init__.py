"""Files in and out: FASTA, maybe-gzipped inputs, hashes, atomic writes, embedding files."""
