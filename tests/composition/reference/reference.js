// Regenerates the expected outputs of the composition corpus with Apollo's reference
// composer. Development aid only: `make test` never runs it.
//
//   mkdir /tmp/refcompose && cd /tmp/refcompose && npm init -y &&
//     npm install @apollo/composition@2.14.4 @apollo/federation-internals@2.14.4 graphql@16
//   NODE_PATH=/tmp/refcompose/node_modules node reference.js ../cases/<case> [...]
//
// For each case directory, every `<subgraph>.graphql` (not starting with `expected`)
// is a subgraph named after the file, in file-name order, routed at
// http://<subgraph>.example/graphql. Writes expected-api.graphql and
// expected-supergraph.graphql on success, expected-errors.txt (sorted codes) on failure.
const fs = require('fs');
const path = require('path');
const { composeServices } = require('@apollo/composition');
const { parse, printSchema } = require('graphql');

for (const dir of process.argv.slice(2)) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.graphql') && !f.startsWith('expected')).sort();
  let services;
  try {
    services = files.map((f) => {
      const name = f.replace(/\.graphql$/, '');
      return { name, url: `http://${name}.example/graphql`, typeDefs: parse(fs.readFileSync(path.join(dir, f), 'utf8')) };
    });
  } catch (e) {
    // The reference reports unparsable subgraphs by throwing; the corpus records it as INVALID_GRAPHQL.
    fs.writeFileSync(path.join(dir, 'expected-errors.txt'), 'INVALID_GRAPHQL\n');
    console.log(`${dir}: errors INVALID_GRAPHQL (${e.message})`);
    continue;
  }
  for (const f of ['expected-api.graphql', 'expected-supergraph.graphql', 'expected-errors.txt']) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) fs.unlinkSync(p);
  }
  let result;
  try {
    result = composeServices(services);
  } catch (e) {
    console.log(`${dir}: reference composer threw: ${e.message}`);
    continue;
  }
  if (result.errors) {
    const codes = [...new Set(result.errors.map((e) => (e.extensions && e.extensions.code) || 'UNKNOWN'))].sort();
    fs.writeFileSync(path.join(dir, 'expected-errors.txt'), codes.join('\n') + '\n');
    console.log(`${dir}: errors ${codes.join(', ')}`);
    for (const e of result.errors) console.log(`    ${e.message.split('\n').join('\n    ')}`);
  } else {
    fs.writeFileSync(path.join(dir, 'expected-supergraph.graphql'), result.supergraphSdl + '\n');
    fs.writeFileSync(path.join(dir, 'expected-api.graphql'), printSchema(result.schema.toAPISchema().toGraphQLJSSchema()) + '\n');
    console.log(`${dir}: composed`);
  }
}
