// Development aid (never run by `make test`): load supergraphs produced by OUR composer with
// Apollo's supergraph loader, as Apollo Router does (its supported features, validation on,
// subgraph extraction), and write Apollo's API schema of each next to it.
//
//   NODE_PATH=/tmp/refcompose/node_modules node check_supergraphs.js DIR_WITH_SUPERGRAPHS OUT_DIR
//
// A supergraph the loader rejects is printed with the reason; the exit status counts them.
const fs = require('fs');
const path = require('path');
const { Supergraph, ROUTER_SUPPORTED_SUPERGRAPH_FEATURES } = require('@apollo/federation-internals');
const { printSchema } = require('graphql');

const [dir, out] = process.argv.slice(2);
fs.mkdirSync(out, { recursive: true });
let rejected = 0;
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort()) {
  const sdl = fs.readFileSync(path.join(dir, f), 'utf8');
  try {
    const sg = Supergraph.build(sdl, { supportedFeatures: ROUTER_SUPPORTED_SUPERGRAPH_FEATURES, validateSupergraph: true });
    sg.subgraphs();
    fs.writeFileSync(path.join(out, f), printSchema(sg.apiSchema().toGraphQLJSSchema()) + '\n');
  } catch (e) {
    rejected++;
    console.log(`${f}: rejected: ${e.message}`);
  }
}
console.log(`${rejected} rejected`);
process.exit(rejected);
