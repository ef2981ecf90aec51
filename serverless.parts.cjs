// Builds parts of serverless.yml from the project's data files, so that what API Gateway and
// DynamoDB are given cannot drift from what the code and the local stack use:
//   ${file(./serverless.parts.cjs):events.<function>}  http + httpApi events from routes.json
//   ${file(./serverless.parts.cjs):calendarTable}      table properties from calendar-table.json
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const readJson = (name) => JSON.parse(readFileSync(join(__dirname, name), 'utf8'));

function eventsByFunction() {
  const events = {};
  for (const api of readJson('routes.json').apis) {
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

function calendarTable() {
  const { $comment: _comment, ...properties } = readJson('calendar-table.json');
  return { TableName: '${param:calendarTable}', ...properties };
}

module.exports = () => ({ events: eventsByFunction(), calendarTable: calendarTable() });
