# Loaded automatically by Python in subprocesses the tests start (PYTHONPATH): loopback only.
import loopback_guard

loopback_guard.install()
