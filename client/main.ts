// Entry point of the Parley web client (served by the Worker: Vite in dev, static assets in production).
import { App } from "./app.ts";

new App().start();
