"""Stage 5: the timed runs of the whole predict pipeline that the comparison's speed verdict
reads (each stage a fresh process, as the workflow's jobs are)."""
