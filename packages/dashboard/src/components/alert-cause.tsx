import { Link } from "@/components/link";
import { type AlertRow, alertLinks, formatNumber, silenceMatchers } from "@/lib/alert-links";
import { type Search, keep } from "@/lib/range";

/**
 * Links to the pages that show the causes of alerts, the most urgent alert's first; of a group
 * (an SLO's burn-rate windows, one rule's features) each page once.
 */
export function AlertCauseLinks({ alerts }: { alerts: AlertRow[] }) {
  const seen = new Set<string>();
  const links = alerts.flatMap(alertLinks).filter((l) => {
    const key = `${l.kind}\u0000${l.label}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (links.length === 0) return null;
  return (
    <span className="alert-links">
      {links.map((l, i) => (
        <span key={l.href}>
          {i > 0 && " · "}
          <Link href={l.href} data-link={l.kind}>
            {l.label}
          </Link>
        </span>
      ))}
    </span>
  );
}

/** Opens the silence form on the Alerts page with matchers that select this alert. */
export function SilenceLink({ alert, search }: { alert: AlertRow; search: Search }) {
  return (
    <Link
      className="button"
      data-silence-for={alert.fingerprint}
      href={`${keep(search, `/alerts?silence=${encodeURIComponent(silenceMatchers(alert))}`)}#new-silence`}
      aria-label={`silence ${alert.labels.alertname ?? alert.rule}`}
    >
      silence
    </Link>
  );
}

/** The value the rule judged and its threshold, each in its own cell. */
export function ValueCells({ alert }: { alert: AlertRow }) {
  return (
    <>
      <td className="num" data-value={alert.value}>
        {formatNumber(alert.value)}
      </td>
      <td className="num" data-threshold={alert.condition?.threshold ?? ""}>
        {alert.condition ? `${alert.condition.op} ${formatNumber(alert.condition.threshold)}` : "-"}
      </td>
    </>
  );
}

/** The window the value came from, in UTC. */
export function windowText(alert: AlertRow): string {
  if (!alert.window) return "-";
  const day = alert.window.start.slice(0, 10);
  const start = alert.window.start.slice(11, 16);
  const end = alert.window.end.slice(0, 10) === day ? alert.window.end.slice(11, 16) : alert.window.end.slice(0, 16).replace("T", " ");
  return `${day} ${start}–${end} UTC`;
}
