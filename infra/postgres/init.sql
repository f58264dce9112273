-- One database per subgraph: each context owns its tables and migrations.
CREATE DATABASE identity;
CREATE DATABASE catalog;
CREATE DATABASE templates;
CREATE DATABASE passport;
