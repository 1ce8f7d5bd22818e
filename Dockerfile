# syntax=docker/dockerfile:1
# The user-service image: `docker build -t user-service:TAG .`
#
#   docker run IMAGE                 serve gRPC on 50051 (metrics port 9090)
#   docker run IMAGE migrate         bring the database to the newest schema
#   docker run IMAGE create-user ... a verified, active user
#
# The base is pinned by its exact tag. Pin its digest too once it is verified against the
# registry (`docker buildx imagetools inspect python:3.11.17-slim-bookworm`, the index
# digest, so that amd64 and arm64 nodes both get theirs): `python:3.11.17-slim-bookworm@sha256:...`.
ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm

# ---- builder: a virtual environment with the service and the exact versions of constraints.txt
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src

# Dependencies first, in a layer of their own that only pyproject.toml and constraints.txt
# invalidate. Every one of them ships wheels: no compiler is needed, here or later.
COPY pyproject.toml constraints.txt ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt

# Then the service: user_service/ with its Alembic migrations, and generated/ (userservice.v1).
# Not the `embedded` extra (a PostgreSQL for laptops) nor `dev`. pip compiles the bytecode.
COPY README.md ./
COPY user_service ./user_service
COPY generated ./generated
RUN /opt/venv/bin/pip install --no-cache-dir -c constraints.txt . \
    && /opt/venv/bin/pip check

# ---- runtime: the base image and the virtual environment, nothing else
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="user-service" \
      org.opencontainers.image.description="gRPC service that owns user accounts and user balances"

# A numeric user the Kubernetes manifests name too (runAsUser: 10001). It has a passwd
# entry, because libpq and boto3 may look up the current user's name or home.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv

# Bytecode was compiled in the builder, and the root filesystem is read-only in Kubernetes, so
# Python must not try to write __pycache__ at run time. Logs go straight to stderr.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONFAULTHANDLER=1

WORKDIR /app
USER 10001:10001

# gRPC (GRPC_PORT) and Prometheus metrics (METRICS_PORT).
EXPOSE 50051 9090

ENTRYPOINT ["python", "-m", "user_service"]
CMD ["serve"]
