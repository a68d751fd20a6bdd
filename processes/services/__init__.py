"""Request-driven services: what the API and the CLI ask of the product (the service layer)."""
