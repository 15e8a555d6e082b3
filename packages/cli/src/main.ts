import { Command } from "commander";
import { registerLoadgen } from "./commands/loadgen.js";
import { registerMonitor } from "./commands/monitor.js";
import { registerProfile } from "./commands/profile.js";
import { registerQuantize } from "./commands/quantize.js";
import { registerReport } from "./commands/report.js";
import { registerRollout } from "./commands/rollout.js";
import { registerServe } from "./commands/serve.js";
import { registerSilence } from "./commands/silence.js";
import { registerUp } from "./commands/up.js";
import { readCliEnv } from "./env.js";

async function main(): Promise<void> {
  const env = readCliEnv();
  const program = new Command()
    .name("vigil")
    .description("Vigil: serve ML models over the Open Inference Protocol and prove the service is good")
    .showHelpAfterError();
  for (const register of [
    registerServe,
    registerMonitor,
    registerProfile,
    registerReport,
    registerSilence,
    registerRollout,
    registerLoadgen,
    registerUp,
    registerQuantize,
  ])
    register(program, env);
  await program.parseAsync();
}

main().catch((error: unknown) => {
  console.error(`vigil: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
