"""Pure, synchronous checks: no sockets, no files beyond the bundled data lists."""
