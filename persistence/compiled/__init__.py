"""Compiled reads: a GraphQL selection planned into one SQL statement whose value is the answer's JSON.

``spec`` is the vocabulary the schema's registry speaks (plain data, importable by schema packages);
``sql`` turns a planned selection into a statement per dialect; ``run`` executes one.
"""
