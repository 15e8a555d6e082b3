import type { RolloutResponse } from "@vigil/monitor";
import { Link } from "@/components/link";
import { type TimeMarker, type TimePoint, TimeChart } from "@/components/time-chart";
import { api } from "@/lib/api";
import { type Search, fixed, keep, percent, utc } from "@/lib/range";

type Params = { params: Promise<{ model: string }>; searchParams: Promise<Search> };
type Rollout = NonNullable<RolloutResponse["rollout"]>;
type Judgement = NonNullable<Rollout["judgement"]>;
type Figures = Judgement["versions"]["primary"];
type Verdict = Judgement["verdict"];

export async function generateMetadata({ params }: Params) {
  return { title: `Rollout of ${decodeURIComponent((await params).model)} · Vigil` };
}

const count = (n: number) => n.toLocaleString("en-US");
const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(2)} ms`);

const VERDICT_CLASS: Record<Verdict, string> = { better: "good", worse: "bad", "not yet distinguishable": "" };
const STATE_WORDS: Record<Rollout["state"], string> = {
  pending: "pending: no server has applied this policy yet",
  active: "active",
  rolled_back: "rolled back: every request goes to the primary",
  promoted: "promoted",
};
/** A canary is compared on its whole latency; a shadow, which runs after the primary's answer and yields to it, on the model's compute time. */
const timingWords: Record<Judgement["timing"], string> = { latency: "latency", compute: "compute time" };
const capitalized = (words: string) => `${words.charAt(0).toUpperCase()}${words.slice(1)}`;
/** An event's action as a sentence says it ("rolled back"). */
const actionWords = (action: Rollout["events"][number]["action"]) => action.replace("_", " ");
const TEST_NAMES: Record<Judgement["tests"][number]["name"], string> = { accuracy: "accuracy", error_rate: "error rate", latency: "latency" };
const METHODS: Record<Judgement["tests"][number]["method"], string> = {
  mcnemar_exact: "McNemar (exact)",
  two_proportion_z: "two-proportion z",
  mann_whitney_u: "Mann-Whitney U",
};

function VerdictBadge({ verdict }: { verdict: Verdict }) {
  return (
    <span className={VERDICT_CLASS[verdict]} data-verdict={verdict}>
      {verdict}
    </span>
  );
}

/** A difference, for shares in percentage points with its 95% interval; the latency test (Mann-Whitney U) gives no interval. */
function difference(test: Judgement["tests"][number]): string {
  if (test.difference === null) return "-";
  if (test.name === "latency") return fixed(test.difference, 3);
  const points = (v: number) => `${(100 * v).toFixed(2)} pp`;
  if (test.low === null || test.high === null) return points(test.difference);
  return `${points(test.difference)} (${points(test.low)} to ${points(test.high)})`;
}

function FiguresTable({ judgement, mode }: { judgement: Judgement; mode: Rollout["mode"] }) {
  const { primary, candidate } = judgement.versions;
  const rows: Array<[string, (f: Figures) => string]> = [
    ["rows", (f) => count(f.rows)],
    ["errors", (f) => `${count(f.errors)} (${percent(f.errorRate)})`],
    ["labelled rows", (f) => count(f.labelled)],
    ["accuracy", (f) => percent(f.accuracy)],
    ["estimated accuracy (CBPE)", (f) => percent(f.estimatedAccuracy)],
    ...(["p50", "p95", "p99"] as const).map((q): [string, (f: Figures) => string] => [`${timingWords[judgement.timing]} ${q}`, (f) => ms(f.latencyMs?.[q])]),
  ];
  return (
    <div className="table-scroll">
      <table data-table="versions">
        <caption className="muted">
          Since the rollout started ({utc(judgement.from)} to {utc(judgement.to)}); the candidate&apos;s rows are its {mode} rows.
        </caption>
        <thead>
          <tr>
            <th scope="col">figure</th>
            <th scope="col" className="num">
              primary v{primary.version}
            </th>
            <th scope="col" className="num">
              candidate v{candidate.version}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, show]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td className="num">{show(primary)}</td>
              <td className="num">{show(candidate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TestsTable({ judgement }: { judgement: Judgement }) {
  return (
    <div className="table-scroll">
      <table data-table="tests">
        <caption className="muted">
          Look {judgement.look}: each test spends α = {judgement.alpha.toPrecision(3)} (the significance split over every look, so checking each window keeps
          the chance of a wrong verdict within it).
        </caption>
        <thead>
          <tr>
            <th scope="col">test</th>
            <th scope="col">method</th>
            <th scope="col" className="num">
              n
            </th>
            <th scope="col" className="num">
              candidate − primary (95% CI)
            </th>
            <th scope="col" className="num">
              p-value
            </th>
            <th scope="col" className="num">
              α at this look
            </th>
            <th scope="col">verdict</th>
          </tr>
        </thead>
        <tbody>
          {judgement.tests.map((t) => (
            <tr key={t.name} data-test={t.name}>
              <th scope="row">{TEST_NAMES[t.name]}</th>
              <td>{METHODS[t.method]}</td>
              <td className="num">{count(t.n)}</td>
              <td className="num">{difference(t)}</td>
              <td className="num">{t.pValue.toPrecision(3)}</td>
              <td className="num">{t.alpha.toPrecision(3)}</td>
              <td>
                <VerdictBadge verdict={t.verdict} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Per monitor window, each version's accuracy (and, for a shadow, how often they agreed), with where the monitor's verdict turned worse or better marked. */
function WindowCharts({ judgement, rollout }: { judgement: Judgement; rollout: Rollout }) {
  const points: TimePoint[] = judgement.windows.map((w) => ({
    t: Date.parse(w.to),
    primary: w.primary.accuracy,
    candidate: w.candidate.accuracy,
    agreement: w.agreement?.rate ?? null,
  }));
  const latency: TimePoint[] = judgement.windows.map((w) => ({
    t: Date.parse(w.to),
    primary: w.primary.latencyMs?.p95 ?? null,
    candidate: w.candidate.latencyMs?.p95 ?? null,
  }));
  const markers: TimeMarker[] = [
    // Where the monitor's verdict became "worse" or "better": a mark per window would repeat it until the rollout ends.
    ...judgement.windows.flatMap((w, i) =>
      (w.verdict === "worse" || w.verdict === "better") && w.verdict !== judgement.windows[i - 1]?.verdict
        ? [{ t: Date.parse(w.to), label: `candidate ${w.verdict}`, tone: "alert" as const }]
        : [],
    ),
    ...rollout.events.filter((e) => e.action !== "started").map((e) => ({ t: Date.parse(e.at), label: actionWords(e.action), tone: "deploy" as const })),
  ];
  const fromMs = Date.parse(judgement.from);
  const toMs = Math.max(Date.parse(judgement.to), fromMs + 60_000);
  const series = [
    { key: "primary", name: `primary v${rollout.primaryVersion}` },
    { key: "candidate", name: `candidate v${rollout.candidateVersion}` },
  ];
  return (
    <section className="grid2">
      <TimeChart
        title="Accuracy per monitor window"
        unit=""
        fromMs={fromMs}
        toMs={toMs}
        points={points}
        series={rollout.mode === "shadow" ? [...series, { key: "agreement", name: "agreement", dashed: true }] : series}
        yDomain={[0, 1]}
        markers={markers}
        description={`Accuracy of primary version ${rollout.primaryVersion} and candidate version ${rollout.candidateVersion} on their labelled rows (0 to 1), one point at each monitor window's end since the rollout started${rollout.mode === "shadow" ? ", with the share of rows both answered alike" : ""}.`}
        empty="No monitor window has ended since the rollout started."
      />
      <TimeChart
        title={`${capitalized(timingWords[judgement.timing])} p95 per monitor window`}
        unit="ms"
        fromMs={fromMs}
        toMs={toMs}
        points={latency}
        series={series}
        markers={markers}
        description={`95th percentile ${timingWords[judgement.timing]} in milliseconds of each version's successful requests, per monitor window since the rollout started.`}
        empty="No monitor window has ended since the rollout started."
      />
    </section>
  );
}

export default async function RolloutPage({ params, searchParams }: Params) {
  const name = decodeURIComponent((await params).model);
  const search = await searchParams;
  const { rollout } = await api<RolloutResponse>(`/api/v1/models/${encodeURIComponent(name)}/rollout`);
  const modelLink = keep(search, `/models/${encodeURIComponent(name)}`);
  if (!rollout) {
    return (
      <>
        <h2>
          Rollout of <Link href={modelLink}>{name}</Link>
        </h2>
        <p className="card empty" data-rollout="none">
          {name} has no rollout: every request without a version goes to its primary version. To judge a new version on live traffic, give config.json a
          &quot;rollout&quot; with mode &quot;shadow&quot; or &quot;canary&quot; and the candidate version, then reload the model.
        </p>
      </>
    );
  }
  const j = rollout.judgement;
  return (
    <>
      <h2>
        Rollout of <Link href={modelLink}>{name}</Link>: candidate v{rollout.candidateVersion} against primary v{rollout.primaryVersion} ({rollout.mode})
      </h2>
      <section className="card" data-section="verdict">
        {j ? (
          <>
            <p className="value">
              <VerdictBadge verdict={j.verdict} />
            </p>
            <p data-sentence>{j.sentence}</p>
          </>
        ) : (
          <p className="empty">Not judged yet: no server has applied this policy.</p>
        )}
        <p className="muted">
          State: <span data-state={rollout.state}>{STATE_WORDS[rollout.state]}</span>
          {rollout.startedAt && `; started ${utc(rollout.startedAt)}`}. Policy {rollout.policyId}.
        </p>
        {rollout.state === "active" && (
          <p className="muted">
            Promotion is a person&apos;s decision: <code>vigil rollout promote --model {name}</code> makes the candidate the primary;{" "}
            <code>vigil rollout rollback --model {name} --reason &quot;…&quot;</code> takes it out of traffic.
          </p>
        )}
      </section>
      {j && (
        <>
          <section className="grid2">
            <div className="card">
              <h3>Versions</h3>
              <FiguresTable judgement={j} mode={rollout.mode} />
              {j.agreement && (
                <p data-agreement>
                  Agreement: {percent(j.agreement.rate)} of {count(j.agreement.pairs)} request rows answered alike (95% CI {percent(j.agreement.low)} to{" "}
                  {percent(j.agreement.high)}).
                </p>
              )}
            </div>
            <div className="card">
              <h3>Tests</h3>
              <TestsTable judgement={j} />
            </div>
          </section>
          <WindowCharts judgement={j} rollout={rollout} />
        </>
      )}
      <section className="card">
        <h3>Events</h3>
        {rollout.events.length === 0 ? (
          <p className="empty">None recorded yet.</p>
        ) : (
          <div className="table-scroll">
            <table data-table="events">
              <thead>
                <tr>
                  <th scope="col">time</th>
                  <th scope="col">action</th>
                  <th scope="col">by</th>
                  <th scope="col">reason</th>
                </tr>
              </thead>
              <tbody>
                {rollout.events.map((e) => (
                  <tr key={`${e.at}:${e.action}:${e.actor}`}>
                    <td>{utc(e.at)}</td>
                    <td>{actionWords(e.action)}</td>
                    <td>{e.actor}</td>
                    <td>{e.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
