"""`python -m perf.load` (`make load`): see perf/load/run.py."""

from perf.load.run import main

main()
