import { TokenSet, bearerToken } from "@vigil/config";
import Fastify, { type FastifyInstance } from "fastify";
import { MonitorError, UnauthorizedError, asMonitorError } from "../errors.js";
import { OPENAPI_PATH, openApiDocument } from "./openapi.js";
import type { MonitorApiOptions, Route } from "./route.js";
import { alertingRoutes } from "./routes/alerting.js";
import { modelRoutes } from "./routes/models.js";
import { overviewRoutes } from "./routes/overview.js";
import { predictionRoutes } from "./routes/predictions.js";
import { rolloutRoutes } from "./routes/rollout.js";
import { traceRoutes } from "./routes/traces.js";

/** Every route of the API, by area. */
function routes(options: MonitorApiOptions): Route[] {
  return [
    ...overviewRoutes(options),
    ...modelRoutes(options),
    ...alertingRoutes(options),
    ...traceRoutes(options),
    ...predictionRoutes(options),
    ...rolloutRoutes(options),
  ];
}

/** Fastify's own refusals of a request (malformed JSON, a body over the limit) carry their 4xx. */
const isFastifyClientError = (error: unknown): error is Error & { statusCode: number } =>
  error instanceof Error && "statusCode" in error && typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500;

/** The one place a failure becomes an HTTP status: the kind of error decides it. */
/** A failure shown to an unauthenticated caller: its status, and where to see the rest. */
class UndisclosedError extends MonitorError {
  constructor(readonly status: number) {
    super(`the monitor cannot answer this now (HTTP ${status}); authenticated callers see why`);
  }
}

function failure(error: unknown): Pick<MonitorError, "status" | "message"> {
  return isFastifyClientError(error) ? { status: error.statusCode, message: error.message } : asMonitorError(error);
}

/** The monitor's HTTP API (Fastify): JSON, bound SQL parameters only, 400s that name the field, bearer-token auth. */
export function buildMonitorApi(options: MonitorApiOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyLimit ?? 64 * 1024, logger: false });
  const tokens = new TokenSet(options.tokens);
  const all = routes(options);
  const document = openApiDocument(all);
  app.get(OPENAPI_PATH, async () => document);
  app.setErrorHandler((error, _request, reply) => {
    const { status, message } = failure(error);
    void reply.status(status).send({ error: status === 500 ? `internal error: ${message}` : message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: `no route ${request.method} ${request.url.split("?")[0]}; the routes are listed at ${OPENAPI_PATH}` });
  });
  for (const route of all) {
    app.route({
      method: route.method,
      url: route.url,
      handler: async (request, reply) => {
        const token = bearerToken(request.headers.authorization);
        const authenticated = !tokens.enabled || (token !== undefined && tokens.accepts(token));
        if (!route.open && !authenticated) {
          void reply.header("www-authenticate", 'Bearer realm="vigil"');
          throw new UnauthorizedError(token === undefined ? "missing credentials: send 'Authorization: Bearer <token>'" : "bearer token not accepted");
        }
        try {
          return await route.handle({ params: request.params, query: request.query, body: request.body, authenticated });
        } catch (error) {
          // Open routes answer anyone: their server-side failures keep the status but not the details (store URLs, hosts).
          const { status } = failure(error);
          if (authenticated || status < 500) throw error;
          throw new UndisclosedError(status);
        }
      },
    });
  }
  return app;
}

/** Starts the API on host:port (0 picks a free port); resolves to its address. */
export async function startMonitorApi(
  options: MonitorApiOptions & { host: string; port: number },
): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const app = buildMonitorApi(options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return { url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`, port, close: () => app.close() };
}
