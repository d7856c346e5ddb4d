"""Files in and out. Import the parts from their modules:

- ``listclean.io.scan``: the pre-pass over the raw bytes (hash, encoding, binary and line-ending
  checks, line and quote counts, the head, a UTF-8 spool when needed);
- ``listclean.io.detect``: pure dialect, header and address-column detection from the head;
- ``listclean.io.ranges``: record-aligned byte ranges (its invariant is in its docstring);
- ``listclean.io.source``: ``open_source`` and ``Source`` (batches of text columns);
- ``listclean.io.writers``: ``Writer`` (CSV, JSON Lines, XLSX) and ``SplitWriter``;
- ``listclean.io.atomic``: ``AtomicFile``, the one way an output file is written.

(This package imports nothing itself, so ``import listclean.io.detect`` stays cheap.)
"""
