import { z } from "zod";
import { InternalError } from "../errors.js";
import type { Route } from "./route.js";
import { responseSchemas } from "./schemas.js";

export const OPENAPI_PATH = "/api/openapi.json";

const COMPONENT = (id: string) => `#/components/schemas/${id}`;
const json = (id: string, description: string) => ({ description, content: { "application/json": { schema: { $ref: COMPONENT(id) } } } });

/** The response schemas as OpenAPI components, without the per-document keys zod gives each. */
function components(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(responseSchemas, { uri: COMPONENT, unrepresentable: "any" });
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _schema, $id: _id, ...schema }]) => [id, schema]));
}

function responseId(route: Route): string {
  const id = responseSchemas.get(route.response)?.id;
  if (!id) throw new InternalError(`${route.method} ${route.url}: its response schema is not registered in responseSchemas`);
  return id;
}

/** The OpenAPI 3.1 document of the routes: parameters, bodies and responses from their zod schemas. */
export function openApiDocument(routes: Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const parameters = (schema: z.ZodObject | undefined, where: "path" | "query") =>
    Object.entries(schema?.shape ?? {}).map(([name, field]) => ({
      name,
      in: where,
      required: where === "path" || !field.safeParse(undefined).success,
      schema: z.toJSONSchema(field, { io: "input", unrepresentable: "any" }),
    }));
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z]+)/g, "{$1}");
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = {
      summary: route.summary,
      security: route.open ? [] : [{ bearer: [] }],
      parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query")],
      ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: z.toJSONSchema(route.body, { io: "input" }) } } } } : {}),
      responses: {
        "200": json(responseId(route), "JSON"),
        "400": json("Error", "A parameter or the body is invalid; the message names it"),
        ...(route.open ? {} : { "401": json("Error", "Missing or unknown bearer token") }),
        "404": json("Error", "Not found"),
        "500": json("Error", "A bug or a config the monitor cannot work with; the message says which"),
        "503": json("Error", "The store is unreachable; retry later"),
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Vigil monitor API",
      version: "1",
      description:
        "Service quality, model quality, drift, SLOs, alerts, traces and the prediction log. Times are ISO 8601, epoch milliseconds, now, or -<duration>.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } }, schemas: components() },
    paths,
  };
}
