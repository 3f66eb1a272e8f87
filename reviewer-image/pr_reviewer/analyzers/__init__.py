"""Analyzers: each turns the checked-out head and the parsed diff into findings."""
