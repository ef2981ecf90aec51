/**
 * cognito-local, a Cognito user-pool emulator, on 127.0.0.1: real Cognito-shaped tokens (token_use,
 * client_id, no aud on access tokens) from a real InitiateAuth, for the tests and the local stack.
 * It runs as a child process in a folder of its own (it keeps its state in ./.cognito).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdminCreateUserCommand, AdminSetUserPasswordCommand, CognitoIdentityProviderClient, CreateUserPoolClientCommand,
  CreateUserPoolCommand, InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';

export interface RunningCognito {
  /** Where the AWS SDK sends Cognito calls. */
  endpoint: string;
  client: CognitoIdentityProviderClient;
  /** The `iss` of a pool's tokens. */
  issuerOf(userPoolId: string): string;
  /** The pool's JWKS (cognito-local's discovery document points at its default port, so use this). */
  jwksUriOf(userPoolId: string): string;
  stop(): Promise<void>;
}

export interface CognitoUser {
  userPoolId: string;
  clientId: string;
  username: string;
  password: string;
}

const READY = /Cognito Local running on/;

/** Starts cognito-local on `port` and resolves once it listens; rejects after `timeoutMs`. */
export async function startCognitoLocal(port: number, timeoutMs = 20_000): Promise<RunningCognito> {
  const folder = mkdtempSync(join(tmpdir(), 'bearer-gate-cognito-'));
  mkdirSync(join(folder, '.cognito'));
  const origin = `http://127.0.0.1:${port}`;
  // The issuer domain is what its tokens carry in `iss`: it must be the address it really serves.
  writeFileSync(join(folder, '.cognito', 'config.json'), JSON.stringify({ TokenConfig: { IssuerDomain: origin } }));
  const start = createRequire(import.meta.url).resolve('cognito-local/lib/bin/start.js');
  const child = spawn(process.execPath, [start], {
    cwd: folder,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', NO_COLOR: '1', DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    await stopChild(child);
    rmSync(folder, { recursive: true, force: true });
  };
  try {
    await ready(child, timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  const client = new CognitoIdentityProviderClient({
    endpoint: origin, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1,
  });
  return {
    endpoint: origin,
    client,
    issuerOf: (userPoolId) => `${origin}/${userPoolId}`,
    jwksUriOf: (userPoolId) => `${origin}/${userPoolId}/.well-known/jwks.json`,
    stop: async () => {
      client.destroy();
      await stop();
    },
  };
}

function ready(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => finish(new Error(`cognito-local did not start within ${timeoutMs} ms; its output: ${output.slice(-500)}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (READY.test(output)) finish();
    };
    const onExit = (code: number | null): void => finish(new Error(`cognito-local exited (${code}) before listening; its output: ${output.slice(-500)}`));
    function finish(error?: Error): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining its output so that it never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) reject(error);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A user pool, an app client allowing USER_PASSWORD_AUTH, and a confirmed user with a permanent password. */
export async function provisionUser(cognito: RunningCognito, username: string, password = 'Local-password-1'): Promise<CognitoUser> {
  const { client } = cognito;
  const pool = await client.send(new CreateUserPoolCommand({ PoolName: 'bearer-gate-local' }));
  const userPoolId = pool.UserPool?.Id;
  if (userPoolId === undefined) throw new Error('cognito-local created a user pool without an id');
  const appClient = await client.send(new CreateUserPoolClientCommand({
    UserPoolId: userPoolId, ClientName: 'calendar-app', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
  }));
  const clientId = appClient.UserPoolClient?.ClientId;
  if (clientId === undefined) throw new Error('cognito-local created an app client without an id');
  await client.send(new AdminCreateUserCommand({ UserPoolId: userPoolId, Username: username, MessageAction: 'SUPPRESS' }));
  await client.send(new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: username, Password: password, Permanent: true }));
  return { userPoolId, clientId, username, password };
}

/** Signs in as a Cognito app would (InitiateAuth, USER_PASSWORD_AUTH): the real access and ID tokens. */
export async function signIn(cognito: RunningCognito, user: CognitoUser): Promise<{ accessToken: string; idToken: string }> {
  const answer = await cognito.client.send(new InitiateAuthCommand({
    AuthFlow: 'USER_PASSWORD_AUTH', ClientId: user.clientId, AuthParameters: { USERNAME: user.username, PASSWORD: user.password },
  }));
  const accessToken = answer.AuthenticationResult?.AccessToken;
  const idToken = answer.AuthenticationResult?.IdToken;
  if (accessToken === undefined || idToken === undefined) throw new Error(`cognito-local answered InitiateAuth without tokens (challenge: ${answer.ChallengeName ?? 'none'})`);
  return { accessToken, idToken };
}
