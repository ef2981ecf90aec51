/** `npm run revoke`: writes a revocation, to the local stack's table by default, or to AWS. */
import { parseArgs } from 'node:util';
import { RevocationWriter } from '../lib/revocation/revocation-writer.js';

const HELP = `Usage: npm run revoke -- (--jti ID [--exp SECONDS] | --sub SUBJECT | --client CLIENT_ID) [options]

Revokes, across every authorizer container within the refresh interval (AUTH_REVOCATION_REFRESH_SECONDS):
  --jti ID         one token, by its jti (--exp: its exp, so the entry expires with it)
  --sub SUBJECT    every token of this subject issued until now (sign-out everywhere)
  --client ID      every token of this client issued until now (a leaked client secret)
Options:
  --issuer URL     the tokens' iss (default: the local issuer, http://localhost:$LOCAL_ISSUER_PORT/, port 4000)
  --table NAME     the revocations table (default: $AUTH_REVOCATION_TABLE, else the local stack's revocations-$LOCAL_STAGE)
  --endpoint URL   a DynamoDB endpoint (default: the local stack's dynalite, http://127.0.0.1:$LOCAL_DYNAMODB_PORT)
  --aws            write to DynamoDB on AWS instead (credentials and region from the usual AWS environment)
  -h, --help       this text

On AWS: npm run revoke -- --aws --table bearer-gate-prod-revocations --issuer https://your-tenant.example.com/ --sub auth0|64f1c2`;

const OPTIONS = {
  jti: { type: 'string' }, exp: { type: 'string' }, sub: { type: 'string' }, client: { type: 'string' },
  issuer: { type: 'string' }, table: { type: 'string' }, endpoint: { type: 'string' }, aws: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function fail(message: string): never {
  process.stderr.write(`revoke: ${message}\n\n${HELP}\n`);
  process.exit(2);
}

let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
try {
  ({ values } = parseArgs({ options: OPTIONS, strict: true }));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const targets = [values.jti, values.sub, values.client].filter((value) => value !== undefined);
if (targets.length !== 1) fail('give exactly one of --jti, --sub or --client');
if (values.aws && values.endpoint !== undefined) fail('--aws and --endpoint do not go together');
const exp = values.exp === undefined ? undefined : Number(values.exp);
if (exp !== undefined && !Number.isInteger(exp)) fail(`--exp "${values.exp}" is not a whole number of seconds since the epoch`);

const env = process.env;
const issuer = values.issuer ?? `http://localhost:${env['LOCAL_ISSUER_PORT'] || '4000'}/`;
const tableName = values.table ?? env['AUTH_REVOCATION_TABLE'] ?? `revocations-${env['LOCAL_STAGE'] || 'dev'}`;
const endpoint = values.aws ? undefined : values.endpoint ?? `http://127.0.0.1:${env['LOCAL_DYNAMODB_PORT'] || '8000'}`;
const writer = new RevocationWriter({ tableName, endpoint });
try {
  const kind = values.jti !== undefined ? 'token' : values.sub !== undefined ? 'subject' : 'client';
  const revocation = await writer.revoke({ kind, issuer, value: targets[0]!, expiresAt: exp });
  const what = kind === 'token' ? `token ${revocation.value}` : `every token of ${kind} ${revocation.value} issued before ${new Date(revocation.notBefore! * 1000).toISOString()}`;
  process.stdout.write(`revoked ${what} (issuer ${issuer}) in ${tableName}${endpoint === undefined ? '' : ` at ${endpoint}`}; the entry expires ${new Date(revocation.expiresAt * 1000).toISOString()}\n`);
} catch (error) {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`revoke: could not write to ${tableName}${endpoint === undefined ? ' on AWS' : ` at ${endpoint} (is the local stack running? npm start)`}: ${detail}\n`);
  process.exitCode = 1;
} finally {
  writer.close();
}
