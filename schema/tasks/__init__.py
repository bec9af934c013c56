"""Tasks and what hangs off them (comments, attachments, activity, labels on a task): types, inputs,
the columns a selection reads, and the mutations.

May import projects, users and core."""
