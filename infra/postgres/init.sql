-- One database per subgraph: each context owns its tables and migrations.
CREATE DATABASE identity;
CREATE DATABASE catalog;
CREATE DATABASE templates;
CREATE DATABASE passport;

-- The role the subgraphs connect as. Row-level security (subgraphs/common/rls.py) keeps each
-- tenant's rows apart even for raw SQL, but superusers and BYPASSRLS roles skip it: the
-- POSTGRES_USER of this container is a superuser, so the subgraphs must not use it.
-- dpp_app owns the databases (the subgraphs run their migrations at start, as dpp_app), and the
-- migrations FORCE row-level security, so the owner is subject to the policies too.
-- The password is for docker-compose only: set your own in production (see README, PostgreSQL).
CREATE ROLE dpp_app LOGIN PASSWORD 'dpp_app' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
ALTER DATABASE identity OWNER TO dpp_app;
ALTER DATABASE catalog OWNER TO dpp_app;
ALTER DATABASE templates OWNER TO dpp_app;
ALTER DATABASE passport OWNER TO dpp_app;
-- PostgreSQL 15+: the public schema belongs to the database owner (pg_database_owner), so dpp_app
-- may create its tables there; nobody else gets CREATE on it.
