// Entry point of the Parley web client (served by the Worker: Vite in dev, static assets in production).
import { App } from "./app.ts";
import { isConversationsPath } from "./connection/session-url.ts";
import { showConversationsPage } from "./views/conversations-view.ts";

if (isConversationsPath(location.pathname)) showConversationsPage();
else new App().start();
