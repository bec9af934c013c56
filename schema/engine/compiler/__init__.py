"""The operation compiler: a covered query planned into one SQL statement per root field whose value
is the field's JSON, built by the database; the plan is cached per document. An operation it does not
cover runs through the resolvers (schema/http/view.py asks ``OperationCompiler.prepare`` first)."""
