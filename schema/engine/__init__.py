"""How a validated GraphQL operation is executed."""
