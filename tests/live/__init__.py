"""Tests against real server processes: ``pserve`` on a free port, and private
PostgreSQL clusters that a test may stop, freeze, lock or replicate.

The machine's shared PostgreSQL server is never stopped or reconfigured here:
anything destructive happens to a cluster of the test's own (``cluster.py``).
"""
