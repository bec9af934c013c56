"""Read and write statements per domain. They take a connection and never commit."""
