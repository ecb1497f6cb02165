"""Read a whole embedding file, checked: what the tests compare against.

The pipeline never holds a whole file (it streams rows through ``EmbeddingReader`` in blocks);
tests want the file's ids and matrix at once, after the same identity checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from virnucpro_smk.io.embedding_files import EmbeddingFile, EmbeddingReader, check_identity


def read_embeddings(
    path: str | os.PathLike[str],
    expect_model: str | None = None,
    expect_width: int | None = None,
    expect_chunk_length: int | None = None,
) -> EmbeddingFile:
    """The file's ids, rows and metadata, refused as the pipeline refuses it (identity
    against its path and the expectations, checked on the header before any row is read)."""
    path = Path(path)
    with EmbeddingReader(path) as reader:
        ids = reader.ids()
        check_identity(
            path,
            reader.meta,
            reader.shape,
            len(ids),
            expect_model=expect_model,
            expect_width=expect_width,
            expect_chunk_length=expect_chunk_length,
            dtype=reader.dtype,
        )
        matrix = reader.rows(0, len(ids))
    return EmbeddingFile(ids, matrix, reader.meta)
