// The demo's inventory service (Node.js): GET /items/<id> answers how many
// are in stock, after asking pricing (Go) over gRPC whether the item is
// known (helloworld.Greeter/SayHello, the one service every gRPC
// distribution ships an example of). Knows nothing of tracing.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const port = Number(process.argv[2] ?? 3000);
const pricing = process.env.PRICING_GRPC ?? '127.0.0.1:50051';
const definition = protoLoader.loadSync(fileURLToPath(new URL('helloworld.proto', import.meta.url)));
const { Greeter } = grpc.loadPackageDefinition(definition).helloworld;
const greeter = new Greeter(pricing, grpc.credentials.createInsecure());

createServer((req, res) => {
  const m = /^\/items\/([^/]+)$/.exec(req.url ?? '');
  if (!m) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"try /items/<id>"}');
    return;
  }
  greeter.SayHello({ name: m[1] }, { deadline: Date.now() + 2000 }, (err, reply) => {
    if (err) {
      res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.details }));
      return;
    }
    const stock = [...m[1]].reduce((n, c) => n + c.charCodeAt(0), 0) % 17;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ item: m[1], stock, known: reply.message }));
  });
}).listen(port, '0.0.0.0', () => console.log(`inventory listening on ${port}`));
