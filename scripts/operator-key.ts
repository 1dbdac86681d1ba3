// `npm run operator-key`: print the deployment operator's key, which shows the day's Workers AI
// spending at /api/health (`curl -H "Authorization: Bearer <key>" https://<your app>/api/health`).
// It is derived from SESSION_SECRET: give the deployed secret in the environment
// (`SESSION_SECRET=... npm run operator-key`); without it, `npm start`'s local secret is used.
import { operatorKey } from "../server/access/session-keys.ts";
import { existingLocalSecret } from "./local-secrets.ts";

const secret = existingLocalSecret("sessionSecret");
if (!secret) {
  console.error("No SESSION_SECRET in the environment, and no local one yet (run `npm start` once, or set SESSION_SECRET).");
  process.exit(1);
}
console.log(await operatorKey(secret));
