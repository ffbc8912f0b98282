# The image of job pods for the Kubernetes executor (c.Kubernetes.job_image), and of sandbox pods
# unless c.Kubernetes.sandbox_image names another: Python 3.11 with jupyter-dataops, papermill,
# ipykernel, fsspec and s3fs, and the python3 kernel.
# See docs/kubernetes.md, section "The runner image". Build it from the repository's root:
#
#   docker build -f docker/runner.Dockerfile -t registry.example.com/ml/dataops-runner:1.0 .
#
# There is no ENTRYPOINT: the Job sets the command
# (python -m jupyter_dataops.backends.kubernetes.pod_runner). Add the libraries your notebooks
# import in an image of your own, FROM this one.
FROM python:3.11-slim

# The uid (and gid) job pods run as. The kind workflow passes the uid of the user who runs the
# tests, so the files pods write into the folder shared with the host belong to that user.
ARG RUNNER_UID=1000

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

COPY . /tmp/jupyter-dataops

# SKIP_JUPYTER_BUILDER=1: the JupyterLab frontend is not built (there is no node here, and job
# pods never load it). The versions are the ones the project's machines and CI use.
RUN SKIP_JUPYTER_BUILDER=1 pip install \
        -c /tmp/jupyter-dataops/requirements/constraints.txt \
        /tmp/jupyter-dataops papermill ipykernel fsspec s3fs \
    && python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" \
    && rm -rf /tmp/jupyter-dataops \
    && python -c "import papermill, s3fs; \
from jupyter_dataops.backends.files import FsspecFileStore; \
from jupyter_dataops.backends.local.engine import DataOpsEngine; \
import jupyter_dataops.backends.kubernetes.pod_runner; \
import jupyter_dataops.backends.kubernetes.sandbox_agent, jupyter_dataops.backends.kubernetes.sandbox_init; \
from jupyter_client.kernelspec import KernelSpecManager; \
assert 'python3' in KernelSpecManager().find_kernel_specs(), 'no python3 kernel'"

RUN groupadd --gid "${RUNNER_UID}" runner \
    && useradd --uid "${RUNNER_UID}" --gid runner --create-home --home-dir /home/runner \
        --shell /bin/bash runner

USER ${RUNNER_UID}:${RUNNER_UID}
ENV HOME=/home/runner
WORKDIR /home/runner
