"""Secrets and what keeps them secret: feed tokens, and their masking in logs."""
