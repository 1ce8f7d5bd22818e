"""Servicers: proto in, plain values to a handler, proto out. Nothing else."""
