"""The rules: handlers that decide, the values they work with, the errors they raise."""
