"""Persistence: models, the engine, repositories with named queries."""
