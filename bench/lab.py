"""What every benchmark passes to `listclean verify` to reach the testbed (scripts/testbed)."""

TESTBED_DNS = "127.0.5.1:5300"  # the testbed's Unbound; the system resolver is not on loopback
HELO = "probe.lab.test"  # resolves in the lab zone, so the sender pre-flight stays quiet

LAB_ARGS = [
    "--allow-test-domains",
    "--allow-private-mx",
    "--nameserver",
    TESTBED_DNS,
    "--helo",
    HELO,
]
