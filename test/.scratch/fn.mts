import { EmbeddedEngine } from "@vigil/store";
const e = new EmbeddedEngine("/tmp/cbpe-scratch/db");
console.log(await e.query("SELECT name FROM system.functions WHERE name ILIKE '%sorted%' OR name ILIKE '%bound%' OR name ILIKE '%search%' OR name ILIKE 'arrayFold%'"));
console.log(await e.query("SELECT version() v, round(0.000015, 5) r, indexOfAssumeSorted([1.,2.,3.], 2.5) i"));
await e.close();
