"""GPU sandboxes: profiles an operator defines, a policy with quotas, and the sandboxes users
start from them (a working directory, limits, devices and a kernel in the notebook's picker).

The core is pure policy and bookkeeping; a provider (``backends.local.sandboxes`` here, a
Kubernetes one later) prepares and stops them, and a GPU inventory says which devices exist."""
