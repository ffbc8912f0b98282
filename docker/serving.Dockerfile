# The image of endpoints' model servers on a cluster (c.Kubernetes.serving_image): the runner
# image (docker/runner.Dockerfile) with jupyter-dataops's `models` extra (MLflow, pandas,
# scikit-learn, uvicorn, prometheus-client, orjson), which the endpoints' pods run as
# `python -m jupyter_dataops.backends.local.model_server`. See docs/kubernetes.md, section
# "Endpoints". Build the runner image first, then this one from the repository's root, with the
# runner image's name and the uid it was built with:
#
#   docker build -f docker/runner.Dockerfile -t registry.example.com/ml/dataops-runner:1.0 .
#   docker build -f docker/serving.Dockerfile \
#       --build-arg RUNNER_IMAGE=registry.example.com/ml/dataops-runner:1.0 \
#       -t registry.example.com/ml/dataops-serving:1.0 .
#
# There is no ENTRYPOINT: the Deployment sets the command. Add the libraries your models need
# (xgboost, lightgbm...) in an image of your own, FROM this one.
ARG RUNNER_IMAGE=dataops-runner:kind
FROM ${RUNNER_IMAGE}

# The uid (and gid) the runner image runs as (its RUNNER_UID): the model server runs as it too.
ARG RUNNER_UID=1000

USER root

COPY . /tmp/jupyter-dataops

# The versions are the runner image's and the project's CI's (requirements/constraints.txt); the
# extra's list is pyproject.toml's. SKIP_JUPYTER_BUILDER=1: no frontend, as for the runner image.
RUN SKIP_JUPYTER_BUILDER=1 pip install \
        -c /tmp/jupyter-dataops/requirements/constraints.txt \
        "/tmp/jupyter-dataops[models]" \
    && rm -rf /tmp/jupyter-dataops \
    && python -c "import mlflow, pandas, sklearn, uvicorn, prometheus_client, orjson; \
import jupyter_dataops.backends.local.model_server"

USER ${RUNNER_UID}:${RUNNER_UID}
