"""The lowest layer: settings, database, models, queries, cache and cross-cutting infrastructure."""
