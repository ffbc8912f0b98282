"""The worker: the long-lived process that runs jobs (``main``), and its supervisor in the server
and the CLI (``supervisor``). Words: an *executor* runs executions (local kernels, later pods);
the *worker* is the process that owns job runs and hosts the executor; *backend* is any swappable
implementation (executors, later sandbox providers and deployment targets)."""
