"""Endpoints: models served over HTTP. ``scoring`` parses and checks MLflow scoring payloads."""
