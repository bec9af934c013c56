"""`python -m perf.cpu_bench` (`make bench-cpu`): see perf/cpu_bench/run.py."""

from perf.cpu_bench.run import main

main()
