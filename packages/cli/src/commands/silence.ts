import type { Command } from "commander";
import { parseDuration } from "@vigil/config";
import { loadServerConfig } from "@vigil/inference";
import { createSilence, expireSilence, listSilences } from "@vigil/monitor";
import { formatSilences } from "../alerting.js";
import type { CliEnv } from "../env.js";
import { withToolStore } from "../tool-store.js";

export function registerSilence(program: Command, env: CliEnv): void {
  const serverConfig = (configFile: string | undefined) => loadServerConfig({ file: configFile, env: env.serverEnv });
  const silence = program.command("silence").description("mute alerts that match label matchers for a while (they are still recorded)");
  silence
    .command("add")
    .description("create a silence")
    .requiredOption(
      "-m, --matcher <matcher>",
      'label matcher, repeatable: name="value", name!="value", name=~"regex", name!~"regex"',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option("-d, --duration <duration>", "how long it lasts", "2h")
    .option("--comment <text>", "why", "")
    .option("--author <name>", "who", env.USER)
    .option("-c, --config <file>", "server config JSON (the store)")
    .action(async (opts: { matcher: string[]; duration: string; comment: string; author: string; config?: string }) => {
      await withToolStore(serverConfig(opts.config), async (engine) => {
        const created = await createSilence(engine, {
          matchers: opts.matcher,
          endsAt: Date.now() + parseDuration(opts.duration),
          createdBy: opts.author,
          comment: opts.comment,
        });
        console.log(created.id);
      });
    });
  silence
    .command("list")
    .description("list silences (active, pending and expired)")
    .option("--json", "print JSON")
    .option("-c, --config <file>", "server config JSON (the store)")
    .action(async (opts: { json?: boolean; config?: string }) => {
      await withToolStore(serverConfig(opts.config), async (engine) => {
        const silences = await listSilences(engine);
        console.log(opts.json ? JSON.stringify(silences, null, 2) : formatSilences(silences));
      });
    });
  silence
    .command("expire")
    .description("end a silence now")
    .argument("<id>", "silence id")
    .option("-c, --config <file>", "server config JSON (the store)")
    .action(async (id: string, opts: { config?: string }) => {
      await withToolStore(serverConfig(opts.config), async (engine) => {
        const expired = await expireSilence(engine, id);
        console.log(`silence ${expired.id} ended at ${new Date(expired.endsAt).toISOString()}`);
      });
    });
}
