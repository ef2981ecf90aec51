// Answers with what the authorizer established about the caller. The authorizer's policy only
// lists routes from its own route table, so add this API there (the stage's route table, with no
// "function": see the README) before deploying.
export async function whoami(event) {
  const context = event.requestContext?.authorizer?.lambda ?? event.requestContext?.authorizer ?? {};
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: context.sub ?? null, scope: context.scope ?? null, tokenUse: context.tokenUse ?? null }),
  };
}
