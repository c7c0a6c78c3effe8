"""A small, generic Forge Remote toolkit, beside `connect/`: knows nothing of billing and
imports nothing from `app/`. Verifies Forge Invocation Tokens (FIT) against Forge's JWKS."""
