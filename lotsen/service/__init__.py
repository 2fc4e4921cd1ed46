"""Lotsen as a service: the HTTP API, authentication, streamed chat and metrics."""
