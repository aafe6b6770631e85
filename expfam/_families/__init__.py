"""The built-in families, grouped by kind (one module per group)."""
