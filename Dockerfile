# One image for every component: the command picks the subgraph or the gateway.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Runtime dependencies only (requirements-runtime.lock: the lock without the dev extra, so no
# test tools or schema bundles in the image); both locks come from `make lock`.
COPY requirements-runtime.lock ./
RUN pip install --require-hashes -r requirements-runtime.lock
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY graphql_limits ./graphql_limits
COPY tokenauth ./tokenauth
COPY subgraphs ./subgraphs
COPY schema ./schema
RUN pip install --no-deps . && useradd --system --uid 10001 dpp
USER dpp
EXPOSE 4000 4001 4002 4003 4004
CMD ["gateway", "serve", "--supergraph", "schema/supergraph.graphql", "--host", "0.0.0.0", "--port", "4000"]
