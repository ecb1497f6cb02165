"""Rule download_refseq: fetch one RefSeq release file (needs internet; a login node)."""

import shutil
import urllib.request

from virnucpro_smk.io.atomic import atomic_path
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake) as log:
    url = snakemake.params.url
    log.info("downloading %s", url)
    with (
        atomic_path(snakemake.output[0]) as tmp,
        urllib.request.urlopen(url, timeout=120) as response,
        open(tmp, "wb") as out,
    ):
        shutil.copyfileobj(response, out, length=1 << 22)
    log.info("saved %s", snakemake.output[0])
