"""The Jupyter Server extension of jupyter-dataops: REST API, events and their OpenAPI contract."""
