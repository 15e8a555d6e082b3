import type { ModelRepositoryParameter } from "@vigil/proto";
import { invalidArgument } from "./errors.js";
import { configOverrideFields } from "./model-config-rpc.js";

/** Triton's RepositoryModelLoad parameter carrying a JSON ModelConfig that replaces the model's for this load. */
export const CONFIG_PARAMETER = "config";
/** Triton's RepositoryModelUnload parameter for ensembles; Vigil serves no ensembles, so there is nothing dependent to unload. */
const UNLOAD_DEPENDENTS_PARAMETER = "unload_dependents";

/**
 * The config.json fields a RepositoryModelLoad's `config` parameter sets (undefined without one).
 * Any other parameter, Triton's `file:<path>` model overrides included, is refused by name:
 * loading without it would load something other than what the caller sent.
 */
export function loadOverrideFields(model: string, parameters: Record<string, ModelRepositoryParameter>): Record<string, unknown> | undefined {
  let fields: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(parameters)) {
    if (key !== CONFIG_PARAMETER) {
      const hint = key.startsWith("file:") ? "Vigil loads model files from the repository only" : `Vigil takes "${CONFIG_PARAMETER}" only`;
      throw invalidArgument(`load parameter "${key}" is not supported: ${hint}`);
    }
    if (value.stringParam === undefined) throw invalidArgument(`load parameter "${CONFIG_PARAMETER}" must be a string_param holding Triton ModelConfig JSON`);
    try {
      fields = configOverrideFields(model, value.stringParam);
    } catch (error) {
      throw invalidArgument((error as Error).message);
    }
  }
  return fields;
}

/** Refuses unload parameters other than Triton's `unload_dependents`, which is a no-op here. */
export function checkUnloadParameters(parameters: Record<string, ModelRepositoryParameter>): void {
  for (const key of Object.keys(parameters)) {
    if (key !== UNLOAD_DEPENDENTS_PARAMETER)
      throw invalidArgument(`unload parameter "${key}" is not supported: Vigil takes "${UNLOAD_DEPENDENTS_PARAMETER}" only`);
  }
}
