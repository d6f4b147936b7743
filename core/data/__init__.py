"""Customer data: the canonical schema, reading and validation, mappings, catalogs, the synthetic population."""
