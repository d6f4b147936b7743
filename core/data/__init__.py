"""Customer data: the canonical schema, reading and validation, mappings, catalogs, extra columns,
customer tables from transactions, the synthetic population."""
