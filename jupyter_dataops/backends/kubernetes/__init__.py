"""Kubernetes backends: jobs as Kubernetes Jobs (``c.DataOps.job_executor_class = "kubernetes"``).

The layout follows the rest of the backends: ``settings`` (the operator's ``c.Kubernetes``),
``names`` and ``objects`` (pure: safe names and the manifests, built from the core's records),
``client`` (the official client, its errors turned into the core's), ``reachability`` (refusing
the embedded defaults that pods cannot reach), ``executor`` (in the worker) and ``pod_runner``
(what runs inside a job's pod). The ``kubernetes`` package is imported only where it is used, and a
missing one says ``pip install jupyter-dataops[kubernetes]``.
"""
