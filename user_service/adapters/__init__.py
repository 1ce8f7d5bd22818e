"""Adapters to the world outside: bcrypt, JWT, AWS Secrets Manager."""
