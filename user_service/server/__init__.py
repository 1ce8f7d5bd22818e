"""Wiring: configuration -> database -> handlers -> servicers, with interceptors, health,
reflection and signal handling."""
