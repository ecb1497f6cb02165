"""VirNucPro-SMK: viral sequence identification the VirNucPro way, as an importable package.

The Snakemake rules in ``workflow/rules`` only read their inputs and call functions from
here, so every behaviour can be unit-tested without running the workflow.
"""

__version__ = "0.1.0"

from .runtime.logs import in_rule_script, quiet_interrupts_while_starting

if in_rule_script():  # Ctrl-C during a job's imports: one line, not a torch traceback
    quiet_interrupts_while_starting()
