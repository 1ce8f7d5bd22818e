"""user-service: user accounts and user balances over gRPC."""
