# One image for every component: the command picks the subgraph or the gateway.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY graphql_limits ./graphql_limits
COPY subgraphs ./subgraphs
COPY schema ./schema
RUN pip install --no-deps . && useradd --system --uid 10001 dpp
USER dpp
EXPOSE 4000 4001 4002 4003 4004
CMD ["gateway", "serve", "--supergraph", "schema/supergraph.graphql", "--host", "0.0.0.0", "--port", "4000"]
