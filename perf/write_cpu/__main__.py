"""`python -m perf.write_cpu` (`make bench-writes`): see perf/write_cpu/run.py."""

from perf.write_cpu.run import main

main()
