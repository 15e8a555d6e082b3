import { type EnvRenames, formatZodIssues, parseTokenList, renameEnv } from "@vigil/config";
import { SERVER_ENV_RENAMES, serverEnvVariables } from "@vigil/inference";
import { z } from "zod";

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === "" ? undefined : v));

/**
 * Every environment variable a `vigil` process reads, checked once at start-up: the inference
 * server's (serverEnvVariables, turned into the server config by loadServerConfig) and the CLI's
 * own. Tokens follow one scheme: VIGIL_GRPC_TOKENS and VIGIL_API_TOKENS are what the gRPC server
 * and the monitor API accept (comma separated); VIGIL_GRPC_CLIENT_TOKEN is what a client (loadgen)
 * sends to the gRPC server; the monitor API's client token is what the dashboard sends, set by
 * `vigil up` for its dashboard child (see dashboard-process.ts).
 */
export const cliEnvSchema = serverEnvVariables.extend({
  /** With none, the monitor API makes one up and logs it, so it is never open by accident. */
  VIGIL_API_TOKENS: z
    .string()
    .optional()
    .transform((v) => parseTokenList(v ?? "")),
  VIGIL_GRPC_CLIENT_TOKEN: optional,
  /** The dashboard's login (`vigil up`); generated for the run when absent. */
  VIGIL_DASHBOARD_PASSWORD: optional.refine((v) => v === undefined || v.length >= 8, "must be at least 8 characters"),
  /** The dashboard's cookie key; the dashboard derives one when absent. */
  VIGIL_DASHBOARD_SECRET: optional,
  /** Default author of a silence. */
  USER: z.string().default(""),
});

/** Old names of the CLI's own variables, still read with a deprecation warning. */
const CLI_ENV_RENAMES: EnvRenames = { VIGIL_TOKEN: "VIGIL_GRPC_CLIENT_TOKEN" };

export type CliEnv = z.output<typeof cliEnvSchema> & {
  /** The environment with deprecated names replaced, for loadServerConfig (which reads the server's part). */
  serverEnv: NodeJS.ProcessEnv;
};

const warn = (message: string) => process.stderr.write(`vigil: warning: ${message}\n`);

export function readCliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const renamed = renameEnv(env, { ...SERVER_ENV_RENAMES, ...CLI_ENV_RENAMES }, warn);
  const result = cliEnvSchema.safeParse(renamed);
  if (!result.success) throw new Error(formatZodIssues("environment", result.error));
  return { ...result.data, serverEnv: renamed };
}
