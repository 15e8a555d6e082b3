export { formatZodIssues } from "./zod-issues.js";
export { durationSchema, formatDuration, parseDuration } from "./duration.js";
export { readJsonObject } from "./json-file.js";
export { parseTime } from "./time.js";
export { TokenSet, bearerToken } from "./tokens.js";
export { type EnvRenames, parseTokenList, renameEnv } from "./env.js";
