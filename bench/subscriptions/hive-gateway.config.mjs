// Hive Gateway (Node) for the side-by-side run of `make bench-subscriptions`.
// Subgraph subscriptions go over WebSocket (graphql-transport-ws), as the Python gateway's do;
// clients connect with graphql-transport-ws on /graphql (Hive Gateway's default).
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  supergraph: process.env.BENCH_SUPERGRAPH,
  port: Number(process.env.BENCH_PORT),
  host: "127.0.0.1",
  logging: "error",
  transportEntries: {
    "*.http": {
      options: {
        subscriptions: { kind: "ws" },
      },
    },
  },
});
