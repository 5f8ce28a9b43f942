"""The benchmarks of flask-integrations: ``make bench`` or ``python -m benchmarks``.

Each module ``fig_*`` measures one figure of ``docs/performance.rst`` against
its baseline, side by side; :mod:`benchmarks.run` runs them, prints one table
and records the results under ``benchmarks/results/``. Timings never go into
the test suite.
"""
