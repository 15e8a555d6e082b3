import type { Command } from "commander";
import { parseTime } from "@vigil/config";
import { loadServerConfig } from "@vigil/inference";
import { monitoredInputs, profilesFromFile, profilesFromWindow, saveProfiles } from "@vigil/monitor";
import type { CliEnv } from "../env.js";
import { catalogModel, withToolStore } from "../tool-store.js";

interface ProfileOptions {
  model: string;
  version: string;
  file?: string;
  from?: string;
  to: string;
  config?: string;
}

export function registerProfile(program: Command, env: CliEnv): void {
  program
    .command("profile")
    .description("build and store a model version's reference profiles, from a reference file or a window of served traffic")
    .requiredOption("--model <name>", "model name")
    .requiredOption("--version <version>", "model version the profiles belong to")
    .option("--file <reference.jsonl>", 'reference rows: {"features": [...], "prediction": ..., "confidence": ...} per line')
    .option("--from <time>", "start of a traffic window to use as the reference (ISO 8601, or -1h)")
    .option("--to <time>", "end of that window", "now")
    .option("-c, --config <file>", "server config JSON (store and model repository)")
    .action(async (opts: ProfileOptions) => {
      if ((opts.file === undefined) === (opts.from === undefined)) throw new Error("give either --file or --from (and optionally --to)");
      const config = loadServerConfig({ file: opts.config, env: env.serverEnv });
      const model = catalogModel(config, opts.model);
      const features = monitoredInputs(model.config);
      if (features.length === 0) throw new Error(`model ${opts.model} names no monitored_features and no classes in its config.json: nothing to profile`);
      await withToolStore(config, async (engine) => {
        const profiles = opts.file
          ? await profilesFromFile(opts.file, features)
          : await profilesFromWindow(engine, {
              model: opts.model,
              version: opts.version,
              features,
              window: { fromUs: parseTime(opts.from!) * 1000, toUs: parseTime(opts.to) * 1000 },
            });
        await saveProfiles(engine, opts.model, opts.version, profiles);
        console.log(
          `stored reference profiles of ${profiles.length} inputs for ${opts.model} version ${opts.version}: ${profiles.map((p) => `${p.feature} (${p.sampleSize} rows)`).join(", ")}`,
        );
      });
    });
}
