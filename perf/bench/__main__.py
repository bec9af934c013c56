"""`python -m perf.bench` (`make bench`): see perf/bench/run.py."""

from perf.bench.run import main

main()
