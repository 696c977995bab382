"""The JSON API, one module per area."""
