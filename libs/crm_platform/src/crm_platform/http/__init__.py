"""HTTP mechanism: app factory, problem+json errors, middleware, health, identity dependency."""
