"""What every bench uses: configuration, the data set, servers, CPU accounting, load clients, results.

May import the application; never a bench package (perf.bench, perf.load, perf.attack, ...)."""
