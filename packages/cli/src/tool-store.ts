import type { ServerConfig } from "@vigil/inference";
import { type CatalogModel, readCatalog } from "@vigil/monitor";
import { MIGRATIONS_DIR, type StoreEngine, migrate, openEngine } from "@vigil/store";

/** The store a command-line tool reads: the same clickhouse_url / data_dir the server config names. */
export async function openToolStore(config: ServerConfig): Promise<StoreEngine> {
  const engine = openEngine({ clickhouseUrl: config.clickhouse_url, dataDir: config.data_dir });
  await migrate(engine, MIGRATIONS_DIR, { cluster: config.clickhouse_cluster });
  return engine;
}

/** Runs `use` on the tool's store and closes the store afterwards, whatever happens. */
export async function withToolStore<T>(config: ServerConfig, use: (engine: StoreEngine) => Promise<T>): Promise<T> {
  const engine = await openToolStore(config);
  try {
    return await use(engine);
  } finally {
    await engine.close();
  }
}

/** One model of a repository directory, or an error naming the models there. */
export function repositoryModel(root: string, name: string): CatalogModel {
  const catalog = readCatalog(
    root,
    (error) => console.error(`vigil: ${error.message}`),
    (warning) => console.error(`vigil: warning: ${warning}`),
  );
  const found = catalog.find((m) => m.name === name);
  if (!found) throw new Error(`model "${name}" is not in the repository ${root} (models: ${catalog.map((m) => m.name).join(", ") || "none"})`);
  return found;
}

/** One model of the repository the server config names, as the monitor sees it. */
export function catalogModel(config: ServerConfig, name: string): CatalogModel {
  return repositoryModel(config.model_repository, name);
}
