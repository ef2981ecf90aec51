// Builds each API function's `http` (REST API) and `httpApi` (HTTP API) events from routes.json,
// so that the routes API Gateway exposes and the routes the authorizer knows cannot drift apart.
// serverless.yml reads it as ${file(./serverless.routes.cjs):<function name>}.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

function eventsByFunction() {
  const table = JSON.parse(readFileSync(join(__dirname, 'routes.json'), 'utf8'));
  const events = {};
  for (const api of table.apis) {
    const list = (events[api.function] ??= []);
    for (const route of api.routes) {
      list.push({
        http: {
          method: route.method.toLowerCase(),
          // Without the leading slash: serverless offline keys its auth schemes by path, and the
          // REST and HTTP API events of one route would otherwise collide.
          path: route.path.slice(1),
          authorizer: { name: 'authorizer', type: 'request', identitySource: 'method.request.header.Authorization', resultTtlInSeconds: 300 },
        },
      });
      list.push({
        httpApi: { method: route.method, path: route.path, authorizer: { name: 'bearer' } },
      });
    }
  }
  return events;
}

module.exports = eventsByFunction;
module.exports.eventsByFunction = eventsByFunction;
