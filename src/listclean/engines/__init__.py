"""Where a run's work runs: the local engine is the pipeline itself; `rayengine` spreads the
offline checks and the probes over a Ray cluster (`--engine ray`, docs/scale-out.md)."""
