"""Users, organizations and push devices: their types, and the mutations on them.

May import core only."""
