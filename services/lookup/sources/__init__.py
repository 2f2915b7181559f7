"""Readers of the packaged code sets and of operator-imported files (CPT, HCPCS)."""
